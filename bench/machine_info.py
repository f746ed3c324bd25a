"""What a benchmark ran on, for its report: CPU, cores, RAM, Python, kernel, open-file limit,
library versions and the code's commit."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench.server import ROOT


def machine(nofile: int) -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    dirty = len([line for line in git("status", "--porcelain").splitlines() if line.strip()])
    versions = {}
    for pkg in ("uvicorn", "uvloop", "websockets", "fastapi", "redis", "asyncpg", "sqlalchemy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "-"
    return {
        "cpu": model,
        "cores": os.cpu_count() or 0,
        "ram_gib": psutil.virtual_memory().total / 2**30,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "nofile": nofile,
        "versions": versions,
        "code": f"{git('rev-parse', '--short', 'HEAD')}"
        + (f" + {dirty} uncommitted changes in the tree" if dirty else ""),
    }
