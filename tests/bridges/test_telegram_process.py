"""`parley bridge telegram` as the program an operator runs: its own process, configured
only by the environment, between a two-worker Parley and the fake Bot API.

The other bridge tests run the bridge as a task and stop it gracefully; here it is killed
with SIGKILL mid-answer (no drain, no goodbye) and started again from its state file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bridges.conftest import AsUser
from tests.bridges.fake_telegram import FakeTelegram
from tests.bridges.test_telegram_bot import QUESTION, RAVI, final_answer, finals, started
from tests.servers import ServerProcess


class BridgeProcess:
    """`parley bridge telegram` (the installed script) with the documented variables only."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "parley"), "bridge", "telegram"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, within: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=within)

    def ensure_gone(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def bridge_environment(
    parley: ServerProcess, telegram: FakeTelegram, service_token: str, state: Path
) -> dict[str, str]:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PARLEY_", "TELEGRAM_"))
        and name not in ("DATABASE_URL", "REDIS_URL")
    }
    return inherited | {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE": telegram.url,
        "PARLEY_URL": parley.url,
        "PARLEY_SERVICE_TOKEN": service_token,
        "TELEGRAM_BRIDGE_STATE": str(state),
        "PARLEY_LOG_LEVEL": "INFO",
    }


@pytest.mark.timeout(240)  # two cold worker processes and two bridge starts on a shared machine
async def test_a_bridge_killed_mid_answer_and_started_again_posts_the_answer_once(
    two_workers: ServerProcess,
    telegram: FakeTelegram,
    cluster_parley: AsUser,
    service_token: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bridge.log"
    bridge = BridgeProcess(
        bridge_environment(two_workers, telegram, service_token, tmp_path / "bridge.sqlite3"),
        log,
    )
    bridge.start()
    try:
        await started(telegram)
        await telegram.say(RAVI, QUESTION)
        await telegram.wait_for(lambda: telegram.drafts, within=60)

        bridge.kill()  # mid-answer: drafts shown, the final message not sent yet
        assert finals(telegram, RAVI) == []
        bridge.start()

        body = await final_answer(telegram, cluster_parley, RAVI, RAVI)
        assert finals(telegram, RAVI) == [body], "one final message, neither lost nor doubled"
        answers = await cluster_parley.bot_answers(RAVI)
        assert len(answers) == 1, "the question reached Parley once, so it was answered once"

        # SIGTERM is a clean stop, as an operator's `docker stop` or systemd expects.
        assert bridge.terminate() == 0, log.read_text()
        written = log.read_text()
        assert "Traceback" not in written
        # Its secrets stay out of its log (both travel in every request it makes).
        assert telegram.token not in written and service_token not in written
    finally:
        bridge.ensure_gone()
