"""Operations endpoints on a real two-worker server (one uvicorn, `--workers 2`): /metrics
summed across worker processes and token-protected, the admin-only cluster view, and
JSON log lines carrying connection ids but never what people wrote."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.exceptions import InvalidStatus

from tests.backing import Backing
from tests.bot.support import conversation, read_answer
from tests.conftest import make_settings
from tests.servers import ROOT, ServerProcess, settings_env
from tests.support import Api, User, WsClient

pytestmark = pytest.mark.processes

METRICS_TOKEN = "metrics-" + secrets.token_hex(16)
TTL = 2  # presence bound: heartbeats every 0.5 s, a silent node leaves after 2 s


@pytest.fixture(scope="module")
async def server(
    schema: AsyncEngine,
    backing: Backing,
    redis_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ServerProcess]:
    settings = make_settings(
        backing,
        redis_prefix,
        tmp_path_factory.mktemp("ops"),
        ws_rate_per_second=10_000,
        ws_rate_burst=10_000,
        presence_ttl_seconds=TTL,
    )
    metrics_dir = tmp_path_factory.mktemp("prometheus")
    proc = ServerProcess(
        settings,
        workers=2,
        env={
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "PARLEY_METRICS_TOKEN": METRICS_TOKEN,
            "PARLEY_LOG_FORMAT": "json",
            "PARLEY_LOG_LEVEL": "INFO",
        },
    )
    proc.start()
    try:
        await proc.wait_ready(within=120)  # two workers importing on a loaded machine
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def api(server: ServerProcess, db: AsyncEngine) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        yield Api(http, server.ws_url)


async def scrape(api: Api) -> str:
    r = await api.http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample, parsed with the client library's own parser (0 if absent)."""
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def on_both_workers(
    api: Api, a: User, b: User, within: float = 60
) -> tuple[WsClient, WsClient, list[WsClient]]:
    """A socket of `a` and one of `b` on different worker processes. Returns the extras to
    close. The kernel picks the worker per connection, and on a loaded machine one worker
    can take every connection for a while (the other still starting, or slower to accept):
    keep opening until they differ, within a deadline."""
    first = await api.ws(a)
    spare: list[WsClient] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        other = await api.ws(b)
        if other.hello["node"] != first.hello["node"]:
            return first, other, spare
        spare.append(other)
        await asyncio.sleep(0.1)  # give the other worker's accept a turn
    raise AssertionError(f"every connection for {within} s landed on one worker")


async def make_admin(db: AsyncEngine, user: User) -> None:
    async with db.begin() as conn:
        await conn.execute(text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": user.id})


async def test_metrics_need_the_operator_token(api: Api) -> None:
    anonymous = await api.http.get("/metrics")
    wrong = await api.http.get("/metrics", headers={"Authorization": "Bearer nope-nope-nope"})
    for refused in (anonymous, wrong):
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
    assert "parley_redis_reconnects_total" in await scrape(api)


async def test_counts_are_summed_over_both_workers_and_carry_no_message_text(
    api: Api, server: ServerProcess
) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    a, b, spare = await on_both_workers(api, asha, ravi)
    await a.subscribe(channel)
    await b.subscribe(channel)
    before = await scrape(api)
    marker = "MARKER-" + secrets.token_hex(8)
    sent = 40  # > 2 * LAG_SAMPLE_EVERY: the lag histogram samples every worker
    for i in range(sent):
        await a.send_message(channel, f"{marker} {i}")
    assert len(await b.messages(sent)) == sent
    assert len(await a.messages(sent)) == sent

    async def moved() -> bool:
        after = await scrape(api)
        delivered = sample(after, "parley_frames_delivered_total", type="message") - sample(
            before, "parley_frames_delivered_total", type="message"
        )
        return delivered == 2 * sent  # `sent` on each worker: only the sum says 2 * sent

    await eventually(moved)
    after = await scrape(api)
    published = sample(after, "parley_events_published_total", kind="room")
    assert published - sample(before, "parley_events_published_total", kind="room") >= sent
    lag_count = sample(after, "parley_delivery_lag_seconds_count")
    assert lag_count - sample(before, "parley_delivery_lag_seconds_count") >= 2  # one per worker
    assert sample(after, "parley_http_requests_total", method="POST", route="/api/v1/rooms") >= 1

    async def gauges_sampled() -> bool:
        now = await scrape(api)
        return (
            sample(now, "parley_connections", transport="ws") == 2 + len(spare)
            and sample(now, "parley_subscriptions", kind="room") == 2
        )

    await eventually(gauges_sampled)
    assert marker not in after
    assert str(room) not in {
        s.labels.get("kind") for f in text_string_to_metric_families(after) for s in f.samples
    }
    for ws in (a, b, *spare):
        await ws.close()
    log = server.log_path.read_text(errors="replace")
    assert marker not in log


async def test_log_lines_are_json_with_the_connection_id(api: Api, server: ServerProcess) -> None:
    asha = await api.user("Asha")
    ws = await api.ws(asha)
    await ws.close()

    def closed_lines() -> list[dict[str, Any]]:
        lines = []
        for raw in server.log_path.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                entry = json.loads(raw)
                if entry.get("msg") == "connection closed":
                    lines.append(entry)
        return lines

    async def logged() -> bool:
        return any(len(str(e.get("connection_id", ""))) == 16 for e in closed_lines())

    await eventually(logged)
    entry = closed_lines()[-1]
    assert entry["level"] == "INFO" and entry["logger"] == "parley.ws"
    assert entry["request_id"]


async def test_the_node_list_is_for_admins_only(api: Api, db: AsyncEngine) -> None:
    student, admin = await api.user("Asha"), await api.user("Root")
    await make_admin(db, admin)
    assert (await api.http.get("/api/v1/admin/nodes")).status_code == 401
    refused = await api.http.get("/api/v1/admin/nodes", headers=student.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"

    async def both_listed() -> bool:
        r = await api.http.get("/api/v1/admin/nodes", headers=admin.headers)
        assert r.status_code == 200, r.text
        return len(r.json()["nodes"]) == 2

    await eventually(both_listed)


@pytest.mark.expect_log(r"(?i)child process|died|terminated|Waiting for")
async def test_a_killed_worker_leaves_the_node_list_within_the_bound(
    api: Api, db: AsyncEngine, server: ServerProcess
) -> None:
    admin = await api.user("Root")
    await make_admin(db, admin)

    async def nodes() -> list[dict[str, Any]]:
        r = await api.http.get("/api/v1/admin/nodes", headers=admin.headers)
        assert r.status_code == 200, r.text
        listed: list[dict[str, Any]] = r.json()["nodes"]
        return listed

    async def two() -> bool:
        return len(await nodes()) == 2

    await eventually(two)
    assert server.proc is not None
    victim = psutil.Process(server.proc.pid).children()[0].pid
    psutil.Process(victim).kill()
    killed_at = time.monotonic()

    async def gone() -> bool:
        return not any(f"-{victim}-" in n["node"] for n in await nodes())

    await eventually(gone, within=TTL + 5)
    # Within the bound: no heartbeat for TTL seconds, measured from the kill (plus a poll).
    assert time.monotonic() - killed_at < TTL + 1.5
    await eventually(two, within=30)  # uvicorn replaces the worker; it joins the list


async def test_a_bot_answer_is_measured_and_the_symptom_never_reaches_metrics_or_logs(
    api: Api, server: ServerProcess
) -> None:
    patient = await api.user("Meera")
    room = await conversation(api, patient)
    ws = await api.ws(patient)
    await ws.subscribe(f"room:{room}")
    before = await scrape(api)
    marker = "MARKER" + secrets.token_hex(6)
    await ws.send_message(f"room:{room}", f"I have had a dry cough for two weeks {marker}")
    answer = await read_answer(ws)
    assert answer.end is not None and answer.end["status"] == "complete"
    await ws.close()
    after = await scrape(api)
    ttft = "parley_llm_time_to_first_token_seconds_count"
    assert sample(after, ttft, provider="offline") - sample(before, ttft, provider="offline") == 1
    rate = "parley_llm_tokens_per_second_count"
    assert sample(after, rate, provider="offline") > sample(before, rate, provider="offline")

    async def none_in_flight() -> bool:
        now = await scrape(api)  # delivered frames are flushed by each worker's sampler
        delivered = sample(now, "parley_frames_delivered_total", type="delta")
        return sample(now, "parley_llm_streams") == 0 and delivered > 0

    await eventually(none_in_flight)
    assert marker not in after
    assert marker not in server.log_path.read_text(errors="replace")


async def test_parley_status_lists_the_live_nodes(server: ServerProcess) -> None:
    env = {**settings_env(server.settings), "PARLEY_LOG_LEVEL": "WARNING"}

    async def status() -> str:
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "parley"), "status",
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        return out.decode()

    async def two_nodes() -> bool:
        return "2 live node(s)" in await status()

    await eventually(two_nodes, within=30)
    assert server.proc is not None
    pids = {str(c.pid) for c in psutil.Process(server.proc.pid).children()}
    listed = [line.split()[0] for line in (await status()).splitlines()[1:-1]]
    # The supervisor's children are the workers (plus multiprocessing's resource tracker).
    assert len(listed) == 2 and {node.split("-")[-2] for node in listed} <= pids


async def test_refused_connections_are_counted_by_code(api: Api, server: ServerProcess) -> None:
    before = await scrape(api)
    with pytest.raises(InvalidStatus):
        await WsClient.open(server.ws_url, None, origin="http://evil.example")
    bad = await WsClient.open(server.ws_url, None)
    await bad.send({"type": "auth", "token": "not-a-token"})
    assert (await bad.recv())["code"] == "unauthorized"
    assert await bad.closed_with() == 4001
    after = await scrape(api)
    name = "parley_admission_refusals_total"
    for code in ("forbidden_origin", "unauthorized"):
        assert sample(after, name, code=code) - sample(before, name, code=code) == 1
