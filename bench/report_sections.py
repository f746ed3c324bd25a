"""The sections of docs/benchmarks.md that `make bench` renders from a run: the issue's
targets, the fan-out steps, the peers, the idle connections and what limits it."""

from __future__ import annotations

import math
from typing import Any

TARGET_RATE, TARGET_CONNS, TARGET_P99_MS = 1000.0, 2000, 100.0
TARGET_IDLE, TARGET_IDLE_BYTES = 10000, 20 * 1000  # issue 13: at most 20 KB


def _ms(v: float) -> str:
    return "-" if v is None or math.isnan(v) else (f"{v:.1f}" if v < 100 else f"{v:.0f}")


def _n(v: float) -> str:
    return "-" if v is None or math.isnan(v) else f"{v:,.0f}"


def _codes(d: dict[str, int]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(d.items())) or "0"


def step_line(s: dict[str, Any]) -> str:
    lat = s["latency"]
    return (
        f"{s['rate']:g} msg/s: stored {s['stored_per_s']:.0f}/s, delivered "
        f"{_n(s['delivered_per_s_steady'])}/s (offered {_n(s['offered_per_s'])}/s), "
        f"p50 {_ms(lat['p50'])} ms p99 {_ms(lat['p99'])} ms max {_ms(lat['max'])} ms, "
        f"missing {s['missing']} dup {s['dups']} ooo {s['ooo']}, closed {_codes(s['closed'])}, "
        f"server CPU {s['resources'].get('cpu_server', 0):.0f}%"
    )


def _fanout_ok(s: dict[str, Any]) -> bool:
    return (
        s["missing"] == 0
        and s["dups"] == 0
        and s["ooo"] == 0
        and not s["closed"]
        and s["latency"]["p99"] < TARGET_P99_MS
        and s["delivered_per_s_steady"] >= 0.95 * s["offered_per_s"]
    )


def targets(rec: dict[str, Any]) -> list[str]:
    rows = ["| Target (from the issue) | Measured | Reached |", "| --- | --- | --- |"]
    fan = rec.get("fanout", {})
    steps = [s for s in fan.get("steps", []) if s["rate"] >= TARGET_RATE]
    name = "2,000 connections in 20 rooms, 1,000 msg/s = 100,000 deliveries/s, p99 < 100 ms"
    if rec["args"]["connections"] >= TARGET_CONNS and steps:
        s = steps[0]
        rows.append(
            f"| {name} | {_n(s['delivered_per_s_steady'])} deliveries/s (of "
            f"{_n(s['offered_per_s'])}/s offered), p99 {_ms(s['latency']['p99'])} ms, "
            f"missing {s['missing']} / dup {s['dups']} / ooo {s['ooo']}, "
            f"closed {_codes(s['closed'])} | {'yes' if _fanout_ok(s) else '**no**'} |"
        )
    else:
        rows.append(f"| {name} | not run at this size (see the history) | - |")
    idle = rec.get("idle")
    name = "10,000 idle authenticated connections, at most 20 KB RSS each"
    if idle and rec["args"]["idle"] >= TARGET_IDLE:
        ok = idle["connected"] >= TARGET_IDLE and idle["per_conn"] <= TARGET_IDLE_BYTES
        rows.append(
            f"| {name} | {idle['connected']:,} open, {idle['per_conn'] / 1000:.1f} KB each "
            f"| {'yes' if ok else '**no**'} |"
        )
    else:
        rows.append(f"| {name} | not run at this size (see the history) | - |")
    return rows


def fanout_section(fan: dict[str, Any]) -> list[str]:
    out = [
        f"Connections: {fan['connected']:,} open (failed: {_codes(fan['failed'])}) in "
        f"{fan['open_seconds']:.1f} s (attempts that failed and were retried: "
        f"{_codes(fan.get('retried', {}))}); spread over workers: "
        + ", ".join(f"`{k}` {v:,}" for k, v in sorted(fan["nodes"].items())),
        "",
        "| Publish rate (msg/s) | Stored msg/s | Deliveries offered/s | Delivered/s (steady) "
        "| Latency p50 / p99 / max (ms) | p99 steady (ms) | Missing / dup / out-of-order "
        "| Closed by server | Acks (p50 / p99 ms) | Server CPU, % of a core (busiest worker) "
        "| Load gen CPU | PostgreSQL CPU | Redis CPU | Other processes | Machine busy "
        "| Last delivery after last send (s) |",
        "| " + " | ".join(["---"] * 16) + " |",
    ]
    for s in fan["steps"]:
        r, lat, ack = s["resources"], s["latency"], s["ack"]
        out.append(
            f"| {s['rate']:g} | {s['stored_per_s']:.0f} | {_n(s['offered_per_s'])} "
            f"| {_n(s['delivered_per_s_steady'])} "
            f"| {_ms(lat['p50'])} / {_ms(lat['p99'])} / {_ms(lat['max'])} "
            f"| {_ms(s['latency_steady']['p99'])} | {s['missing']} / {s['dups']} / {s['ooo']} "
            f"| {_codes(s['closed'])} | {s['acked']:,}/{s['sent']:,} ({_ms(ack['p50'])} / "
            f"{_ms(ack['p99'])}) | {r.get('cpu_server', 0):.0f} "
            f"({r.get('cpu_busiest_worker', 0):.0f}) "
            f"| {r.get('cpu_loadgen', 0):.0f} | {r.get('cpu_postgres', 0):.0f} "
            f"| {r.get('cpu_redis', 0):.0f} | {r.get('cpu_other', 0):.0f} "
            f"| {r.get('machine', 0):.0f} "
            f"| {s['drain_seconds']:.1f} |"
        )
    errors = {k: v for s in fan["steps"] for k, v in s["send_errors"].items()}
    if errors:
        out += ["", f"Send errors: {_codes(errors)}."]
    if fan.get("server_log"):
        out += ["", "Server log (WARNING/ERROR lines, count):", ""]
        out += [f"- {v} x `{k}`" for k, v in fan["server_log"].items()]
    return out


PEER_LABELS = {
    "asgi": "Parley, ASGI send path (before 0017)",
    "node": "Node Socket.IO + @socket.io/redis-adapter",
    "python": "python-socketio + AsyncRedisManager",
}


def _kept_up(s: dict[str, Any]) -> bool:
    """p99 < 100 ms, nothing missing or duplicated, and delivery kept up with the offer.
    Order is not required here: the peers do not order sends across publishers."""
    return (
        s["missing"] == 0
        and s["dups"] == 0
        and not s["closed"]
        and s["latency"]["p99"] < TARGET_P99_MS
        and s["delivered_per_s_steady"] >= 0.95 * s["offered_per_s"]
    )


def _best(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    ok = [s for s in steps if _kept_up(s)]
    return max(ok, key=lambda s: s["delivered_per_s_steady"]) if ok else None


def _us_per_delivery(s: dict[str, Any]) -> float:
    d = s["delivered_per_s_steady"]
    return s["resources"].get("cpu_server", 0.0) * 1e4 / d if d and d > 0 else math.nan


def peers_section(rec: dict[str, Any]) -> list[str]:
    """Parley beside the peers measured in this run, as ratios (a ratio from one run on a
    shared machine means more than any absolute figure)."""
    systems: list[tuple[str, dict[str, Any]]] = [("**Parley**", rec["fanout"])]
    for kind, fan in rec.get("peers", {}).items():
        systems.append((PEER_LABELS.get(kind, kind), fan))
    out = [
        "Same workload, same run, one after another: the same receivers (connections, rooms, "
        "load-generator processes), publishers and rates; each server with "
        f"{rec['args']['workers']} worker processes and the same Redis. The peers store "
        "nothing and acknowledge a send once it is handed to the adapter; Parley's ack means "
        "stored in PostgreSQL. Peers number sends per channel in the publisher and do not "
        "order across publishers, so their out-of-order count is informative only.",
        "",
        "| System | Rate (msg/s) | Delivered/s steady (of offered) | p50 / p99 (ms) "
        "| Missing / dup / ooo | Acks p99 (ms) | Server CPU (% of a core) "
        "| Server CPU µs per delivery | Parley ÷ this: deliveries/s, p99, CPU µs |",
        "| " + " | ".join(["---"] * 9) + " |",
    ]
    parley = {s["rate"]: s for s in rec["fanout"]["steps"]}
    for name, fan in systems:
        if "error" in fan:
            out.append(f"| {name} | not measured: {fan['error']} |" + " |" * 7)
            continue
        for s in fan["steps"]:
            lat, p = s["latency"], parley.get(s["rate"])
            ratio = "-"
            if p is not None and fan is not rec["fanout"] and s["delivered_per_s_steady"] > 0:
                ratio = (
                    f"{p['delivered_per_s_steady'] / s['delivered_per_s_steady']:.2f}, "
                    f"{p['latency']['p99'] / max(lat['p99'], 0.001):.1f}, "
                    f"{_us_per_delivery(p) / _us_per_delivery(s):.2g}"
                )
            out.append(
                f"| {name} | {s['rate']:g} | {_n(s['delivered_per_s_steady'])} "
                f"({_n(s['offered_per_s'])}) | {_ms(lat['p50'])} / {_ms(lat['p99'])} "
                f"| {s['missing']} / {s['dups']} / {s['ooo']} | {_ms(s['ack']['p99'])} "
                f"| {s['resources'].get('cpu_server', 0):.0f} | {_us_per_delivery(s):.0f} "
                f"| {ratio} |"
            )
    out += [
        "",
        "Best rate each system kept up with at p99 < 100 ms, nothing lost or duplicated:",
        "",
    ]
    mine = _best(rec["fanout"]["steps"])
    for name, fan in systems:
        best = None if "error" in fan else _best(fan["steps"])
        if best is None:
            out.append(f"- {name}: none of the rates measured")
            continue
        line = (
            f"- {name}: {_n(best['delivered_per_s_steady'])} deliveries/s at {best['rate']:g} msg/s"
        )
        if fan is not rec["fanout"]:
            got = mine["delivered_per_s_steady"] if mine else 0.0
            line += f"; Parley ÷ this: {got / best['delivered_per_s_steady']:.2f}"
        out.append(line)
    return out


def idle_section(idle: dict[str, Any]) -> list[str]:
    r = idle["resources"]
    out = [
        "| Idle connections open | Failed | Time to open (s) | Server RSS before (MiB) "
        "| after (MiB) | Per connection (KB) | Server CPU while idle (% of a core) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {idle['connected']:,} | {_codes(idle['failed'])} | {idle['open_seconds']:.1f} "
        f"| {idle['rss_before'] / 2**20:.0f} | {idle['rss_after'] / 2**20:.0f} "
        f"| {idle['per_conn'] / 1000:.1f} | {r.get('cpu_server', 0):.0f} |",
        "",
        f"Attempts that failed and were retried while opening: {_codes(idle.get('retried', {}))}.",
        "",
        "Per worker: "
        + "; ".join(
            f"`{w['node']}` {w['connections']:,} connections, +{w['rss_delta'] / 2**20:.0f} MiB "
            f"({w['per_conn'] / 1000:.1f} KB each)"
            for w in idle["workers"]
        ),
    ]
    if idle.get("server_log"):
        out += ["", "Server log (WARNING/ERROR lines, count):", ""]
        out += [f"- {v} x `{k}`" for k, v in idle["server_log"].items()]
    return out


def observations(rec: dict[str, Any]) -> list[str]:
    """What this run's own numbers say about the limit (no guessing beyond them)."""
    cores = rec["machine"]["cores"] * 100
    out = []
    for s in rec.get("fanout", {}).get("steps", []):
        r = s["resources"]
        share = ", ".join(
            f"{g} {r.get('cpu_' + g, 0):.0f}%"
            for g in ("server", "loadgen", "postgres", "redis", "other")
        )
        kept_up = s["delivered_per_s_steady"] >= 0.95 * s["offered_per_s"]
        verdict = "kept up" if kept_up else "fell behind"
        out.append(
            f"- {s['rate']:g} msg/s: delivery {verdict} "
            f"({_n(s['delivered_per_s_steady'])} of {_n(s['offered_per_s'])}/s, drained "
            f"{s['drain_seconds']:.1f} s after the last send); the machine was "
            f"{r.get('machine', 0):.0f}% busy ({cores}% = all cores): {share}; "
            f"stored {s['stored_per_s']:.0f} of {s['rate']:g} msg/s offered"
            + (
                f", publisher fell {s['publisher_max_lag_ms']:.0f} ms behind its schedule"
                if s["publisher_max_lag_ms"] > 50
                else ""
            )
            + "."
        )
        if s.get("p99_by_second"):
            out[-1] += f" p99 by second (ms): {' '.join(map(str, s['p99_by_second'][:40]))}."
        if s["delivered_per_s_steady"] > 0:
            per = 1e4 / s["delivered_per_s_steady"]  # % of a core -> µs per delivery
            out[-1] += (
                f" Per delivered message: server {r.get('cpu_server', 0) * per:.0f} µs of CPU "
                f"(publish path included), load generator {r.get('cpu_loadgen', 0) * per:.0f} µs."
            )
    return out
