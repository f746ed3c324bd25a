"""How the real-time endpoints reach this worker's hub.

The lifespan (app/main.py) puts the hub on `app.state.hub`, beside the shared service
container (`app.state.services`, edge/services.py): the hub is a realtime/ object, so it is
not in the container REST also reads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from realtime.hub import Hub


def hub_of(connection: HTTPConnection) -> Hub:
    """This worker's hub, for an HTTP request or a WebSocket of its app."""
    hub: Hub = connection.app.state.hub
    return hub


def get_hub(request: Request) -> Hub:
    return hub_of(request)


HubDep = Annotated[Hub, Depends(get_hub)]
