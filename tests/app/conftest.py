"""Fixtures for the zero-setup tests."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backing import ROOT


@pytest.fixture
def workdir() -> Iterator[Path]:
    """An empty folder for embedded services, under var/test rather than pytest's tmp root.

    As root, pgserver runs PostgreSQL as its own system user and opens the folders above
    the data directory for it to traverse; pytest resets its `/tmp/pytest-of-<user>` root to
    0700 whenever another pytest session starts, which would lock that user out mid-test.
    """
    path = ROOT / "var" / "test" / "work" / secrets.token_hex(6)
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)
