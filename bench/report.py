"""docs/benchmarks.md: the latest run in full, the issue's targets, and a history.

The page is rewritten wholesale on every run. Two things survive a rewrite: the history
(kept as JSON in an HTML comment at the end of the page) and the hand-written analysis
between the `analysis:start` / `analysis:end` markers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report_sections import (
    _codes,
    _ms,
    _n,
    fanout_section,
    idle_section,
    observations,
    peers_section,
    targets,
)

HISTORY_OPEN, HISTORY_CLOSE = "<!-- bench-history", "bench-history -->"
ANALYSIS_OPEN, ANALYSIS_CLOSE = "<!-- analysis:start -->", "<!-- analysis:end -->"
KEEP_HISTORY = 60


def _history_rows(rec: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    a = rec["args"]
    for s in rec.get("fanout", {}).get("steps", []):
        rows.append(
            {
                "date": rec["date"],
                "label": rec.get("label", ""),
                "scenario": f"fan-out {a['connections']} conns / {a['rooms']} rooms "
                f"@ {s['rate']:g} msg/s",
                "result": f"{_n(s['delivered_per_s_steady'])} of {_n(s['offered_per_s'])} "
                f"deliveries/s, p50 {_ms(s['latency']['p50'])} / p99 {_ms(s['latency']['p99'])} "
                f"ms, missing/dup/ooo {s['missing']}/{s['dups']}/{s['ooo']}, "
                f"closed {_codes(s['closed'])}, "
                f"server CPU {s['resources'].get('cpu_server', 0):.0f}%",
            }
        )
    if rec.get("idle"):
        i = rec["idle"]
        rows.append(
            {
                "date": rec["date"],
                "label": rec.get("label", ""),
                "scenario": f"idle {a['idle']} conns",
                "result": f"{i['connected']:,} open, {i['per_conn'] / 1000:.1f} KB RSS each",
            }
        )
    return rows


def _previous(path: Path) -> tuple[list[dict[str, Any]], str, str]:
    """The kept parts of the page: history, analysis, and whatever follows the history
    (other scenarios' sections, e.g. `make bench-stream`'s, which they rewrite themselves)."""
    if not path.exists():
        return [], "", ""
    text = path.read_text()
    after = text.split(HISTORY_CLOSE, 1)[1].strip("\n") if HISTORY_CLOSE in text else ""
    history: list[dict[str, Any]] = []
    if HISTORY_OPEN in text:
        raw = text.split(HISTORY_OPEN, 1)[1].split(HISTORY_CLOSE, 1)[0]
        try:
            history = json.loads(raw)
        except ValueError:
            history = []
    analysis = ""
    if ANALYSIS_OPEN in text and ANALYSIS_CLOSE in text:
        analysis = text.split(ANALYSIS_OPEN, 1)[1].split(ANALYSIS_CLOSE, 1)[0].strip("\n")
    return history, analysis, after


def write(path: Path, rec: dict[str, Any]) -> None:
    history, analysis, after = _previous(path)
    history = (history + _history_rows(rec))[-KEEP_HISTORY:]
    m, a = rec["machine"], rec["args"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    n_steps = len(rec["fanout"]["steps"]) if "fanout" in rec else 0
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/fanout.py`); rerun it to refresh this page. The "
        "history at the end and the analysis section are kept across runs.",
        "",
        "## Latest run",
        "",
        f"- Date: {rec['date']}; took {rec['seconds']:.0f} s",
        f"- Command: `{rec['command']}`",
        f"- Code: {m['code']}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']:.0f} GiB RAM, "
        f"Python {m['python']}, Linux {m['kernel']}, RLIMIT_NOFILE {m['nofile']}",
        f"- Libraries: {versions}",
        f"- Backing services: {rec.get('backing', '?')}",
        f"- Server: `uvicorn app.main:create_app --factory --workers {a['workers']}` "
        "(the same WebSocket options as `parley serve`), default outbound queue",
        f"- Load generator on the same machine: {a['procs']} receiver processes and one "
        "publisher process (uvloop, a minimal WebSocket client in `bench/wsclient.py`); "
        f"{a.get('publishers', a['rooms'])} publisher connections spread over the rooms; "
        f"{a['connections']:,} receivers over {a['rooms']} "
        f"rooms, {a['duration']:g} s per rate; {n_steps} rate(s)",
        "",
        "Latency is receive time minus the send timestamp the publisher put in the body "
        "(one clock: same machine). It includes the publisher's queueing, the WebSocket "
        "receive, the PostgreSQL transaction, the Redis publish, the fan-out and the "
        'receiver\'s own queueing. "Steady" excludes the first and last second.',
        "",
        "## Targets",
        "",
        *targets(rec),
        "",
    ]
    if "fanout" in rec:
        lines += ["## Fan-out", "", *fanout_section(rec["fanout"]), ""]
    if rec.get("peers") and "fanout" in rec:
        lines += ["## Peers in the same run (ratios)", "", *peers_section(rec), ""]
    if rec.get("idle"):
        lines += ["## Idle connections (memory)", "", *idle_section(rec["idle"]), ""]
    lines += [
        "## What limits it",
        "",
        "Measured in the latest run (CPU in % of one core, averaged over the publishing window):",
        "",
        *observations(rec),
        "",
        ANALYSIS_OPEN,
        analysis or "(Profile-based analysis goes here; it is kept across runs.)",
        ANALYSIS_CLOSE,
        "",
        "## History",
        "",
        "| Date | Label | Scenario | Result |",
        "| --- | --- | --- | --- |",
        *(
            f"| {h['date']} | {h['label']} | {h['scenario']} | {h['result']} |"
            for h in reversed(history)
        ),
        "",
        HISTORY_OPEN,
        json.dumps(history, indent=1),
        HISTORY_CLOSE,
        "",
    ]
    if after:
        lines += [after, ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
