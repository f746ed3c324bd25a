"""docs/asyncapi.json is generated from the frame models and must match them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

from realtime import asyncapi, frame_parser
from realtime.server_frames import ServerFrame

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def test_the_committed_asyncapi_document_matches_the_frame_models() -> None:
    assert DOC.read_text(encoding="utf-8") == asyncapi.render(), (
        "docs/asyncapi.json is stale: run `make asyncapi`"
    )


def test_every_client_frame_type_is_described() -> None:
    described = {asyncapi.frame_type(m) for m in asyncapi.CLIENT}
    assert described == set(frame_parser.CLIENT_TYPES)


def test_every_server_frame_and_event_is_described() -> None:
    server_frames = set(get_args(ServerFrame))
    assert server_frames <= set(asyncapi.SERVER)
    doc = json.loads(DOC.read_text(encoding="utf-8"))
    titles = {m["title"] for m in doc["components"]["messages"].values()}
    assert {"message", "typing", "presence", "join", "leave", "hello", "ack", "error"} <= titles
