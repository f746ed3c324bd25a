"""The result of a `bench.leaderboard` run: its figures (`summarize`) and its section of
docs/benchmarks.md (`section`, `write`)."""

from __future__ import annotations

import argparse
import math
from array import array
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.board_setup import SECONDS_PER_QUESTION
from bench.scenarios import percentiles

TARGET_RATE, TARGET_P99_MS = 2000.0, 50.0
BEGIN, END = "<!-- leaderboard:start -->", "<!-- leaderboard:end -->"


def summarize(
    args: argparse.Namespace, t0: float, ingested: list[dict[str, Any]],
    watched: list[dict[str, Any]], final: int, resources: dict[str, Any], backing: str,
) -> dict[str, Any]:  # fmt: skip
    ack = array("q")
    refused: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    for r in ingested:
        ack.frombytes(r["ack_us"])
        refused.update(r["refused"])
        closed.update(r["closed"])
    send_seconds = max(r["send_seconds"] for r in ingested)
    last_ack = max(r["last_ack"] for r in ingested)
    t_end = t0 + send_seconds
    frames, final_lat, missing_final = [], [], 0
    for w in watched:
        closed.update({f"watcher {k}": v for k, v in w["closed"].items()})
        for seen in w["boards"]:
            frames.append(sum(1 for at, _ in seen if t0 <= at <= t_end) / send_seconds)
            done = [at for at, version in seen if version >= final]
            if done:
                final_lat.append(int((done[0] - last_ack) * 1e6))
            else:
                missing_final += 1
    frames.sort()
    acked = len(ack)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "backing": backing,
        "sent": sum(r["sent"] for r in ingested),
        "acked": acked,
        "unanswered": sum(r["unanswered"] for r in ingested),
        "refused": dict(refused),
        "closed": dict(closed),
        "send_seconds": send_seconds,
        "max_lag": max(r["max_lag"] for r in ingested),
        "acked_per_s": acked / max(send_seconds, last_ack - t0),
        "ack": percentiles(list(ack)),
        "final_version": final,
        "final_latency": percentiles(final_lat),
        "missing_final": missing_final,
        "frames_per_watcher": {
            "mean": sum(frames) / max(1, len(frames)),
            "max": frames[-1] if frames else math.nan,
        },
        "ranks": sum(w["ranks"] for w in watched),
        "resources": resources,
    }


def section(args: argparse.Namespace, command: str, m: dict[str, Any], r: dict[str, Any]) -> str:
    met_rate = r["acked_per_s"] >= TARGET_RATE * 0.99 and not r["refused"]
    met_p99 = r["ack"]["p99"] < TARGET_P99_MS
    verdict = "met" if met_rate and met_p99 else "NOT met"
    res = r["resources"]
    cpu = ", ".join(f"{k} {v:.0f}%" for k, v in res.items() if isinstance(v, float))
    return "\n".join(
        [
            BEGIN,
            "## Leaderboards (study groups)",
            "",
            "Written by `make bench-board` (`bench/leaderboard.py`); rerun it to refresh "
            "this section.",
            "",
            f"- Date: {r['date']}; command: `{command}`",
            f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']:.0f} GiB RAM, Python "
            f"{m['python']}; backing: {r['backing']}; `--workers {args.workers}`; the load "
            f"generator ({args.procs} ingest + {args.procs} watcher processes) shares the machine",
            f"- Set-up: one group of {args.members:,} members, a one-question quiz, "
            f"{args.sessions} sessions of it running at once (each question open "
            f"{SECONDS_PER_QUESTION} s); answer j is member j mod {args.members} answering "
            f"session j div {args.members}, so no answer is a duplicate. "
            f"{args.watchers:,} watchers subscribed to `leaderboard:{{room}}` (member tokens; "
            "the board every answer moves)",
            "",
            "| Figure | Value |",
            "|---|---|",
            f"| Offered | {args.rate:,.0f} answers/s for {args.duration:g} s "
            f"({r['sent']:,} answers; send loop lag max {r['max_lag'] * 1000:.0f} ms) |",
            f"| Acknowledged (`answered`) | {r['acked']:,} = {r['acked_per_s']:,.0f} answers/s |",
            f"| Refused by code | {r['refused'] or 'none'}; unanswered after 30 s: "
            f"{r['unanswered']} |",
            f"| Ack latency p50 / p99 / max | {r['ack']['p50']:.1f} / {r['ack']['p99']:.1f} / "
            f"{r['ack']['max']:.0f} ms |",
            f"| Board frames per watcher per second (mean / max) | "
            f"{r['frames_per_watcher']['mean']:.2f} / {r['frames_per_watcher']['max']:.2f} |",
            f"| Final board: last ack -> watcher sees final version, p50 / p99 / max | "
            f"{r['final_latency']['p50']:.0f} / {r['final_latency']['p99']:.0f} / "
            f"{r['final_latency']['max']:.0f} ms ({r['final_latency']['n']:,} watchers; "
            f"{r['missing_final']} never saw it) |",
            f"| `rank` frames to watchers (own rank changes) | {r['ranks']:,} |",
            f"| Connections closed | {r['closed'] or 'none'} |",
            f"| CPU while answering (% of one core) | {cpu or '?'} |",
            f"| Server CPU per stored answer (from the first answer to the final board: "
            f"ingest, boards, snapshots, fan-out) | {r['server_cpu_seconds']:.1f} s / "
            f"{r['stored']:,} stored = "
            f"{r['server_cpu_seconds'] * 1000 / max(1, r['stored']):.2f} ms |",
            "",
            f"Target ≥ {TARGET_RATE:,.0f} answers/s at p99 < {TARGET_P99_MS:g} ms: **{verdict}** "
            f"(rate {'met' if met_rate else 'not met'}, p99 {'met' if met_p99 else 'not met'}). "
            "Board frames are coalesced to one per `PARLEY_BOARD_WINDOW_SECONDS` (0.25 s) "
            "per channel plus the trailing one, so at most about 4 per watcher per second.",
            "",
            "The final-state latency is a proxy for update latency: it is measured once, from "
            "the last acknowledged answer to the first board frame whose version is the one "
            "REST reports once the board stopped moving; it includes up to one coalescing "
            "window by design.",
            END,
        ]
    )


def write(path: Path, text: str) -> None:
    doc = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + text + rest.split(END, 1)[1]
    elif report.ANALYSIS_CLOSE in doc:  # inside the block `make bench` keeps
        doc = doc.replace(report.ANALYSIS_CLOSE, text + "\n\n" + report.ANALYSIS_CLOSE, 1)
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(doc)
