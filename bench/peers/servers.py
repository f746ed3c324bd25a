"""The peers' server processes: Node Socket.IO and python-socketio, each with N workers
sharing one port and one Redis, started and stopped like Parley's (bench/server.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.server import ROOT, Server

PEERS_DIR = Path(__file__).resolve().parent
NODE_SCRIPT = PEERS_DIR / "socketio_node.js"
PEERS = ("node", "python")
LABELS = {
    "node": "Node Socket.IO + @socket.io/redis-adapter",
    "python": "python-socketio + AsyncRedisManager",
}


class PeerUnavailable(RuntimeError):
    """The peer cannot run here (no node, or `npm ci` was not run in bench/peers)."""


def ensure_node_modules() -> None:
    """`npm ci` in bench/peers once (the lock file pins every package)."""
    if (PEERS_DIR / "node_modules" / "socket.io").exists():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise PeerUnavailable("node/npm not found")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=PEERS_DIR, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise PeerUnavailable(f"npm ci failed: {done.stderr[-300:]}")


@dataclass
class PeerServer(Server):
    kind: str = "node"
    redis_url: str = ""
    key: str = "bench-socketio"

    def command(self) -> list[str]:
        if self.kind == "node":
            node = shutil.which("node") or "node"
            return [node, str(NODE_SCRIPT), str(self.port), str(self.workers), self.redis_url,
                    self.key]  # fmt: skip
        # The same uvicorn options as Parley's server where they apply.
        return [
            sys.executable, "-m", "uvicorn", "bench.peers.socketio_py:app",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
            "--no-access-log", "--log-level", "warning",
            "--ws-max-size", str(1024 * 1024), "--ws-per-message-deflate", "false",
            "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip


def peer_server(kind: str, env: dict[str, str], workers: int, log: Path, key: str) -> PeerServer:
    if kind == "node":
        ensure_node_modules()
    return PeerServer(
        env={**env, "PYTHONPATH": str(ROOT), "PEER_REDIS_URL": env["REDIS_URL"], "PEER_KEY": key},
        workers=workers,
        log_path=log,
        kind=kind,
        redis_url=env["REDIS_URL"],
        key=key,
    )
