"""Path and query parameters shared by the HTTP endpoints (REST and SSE), bounded to
their columns' ranges.

Id path segments are declared with Starlette's `:int` convertor (`/rooms/{room_id:int}`):
a segment that is not a decimal number matches no route (404 `not_found`), so a literal
sibling such as `/rooms/join` is never taken for an id and a wrong method on it is a
proper 405. A number outside 1..2^31-1 is 422 `invalid`: PostgreSQL would refuse it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from domain.limits import INT32_MAX, INT64_MAX

_ID = "A positive 32-bit id."
IdPath = Annotated[int, Path(ge=1, le=INT32_MAX, description=_ID)]
SeqAfter = Annotated[
    int | None, Query(ge=0, le=INT64_MAX, description="Messages with seq greater than this.")
]
SeqBefore = Annotated[
    int | None, Query(ge=1, le=INT64_MAX, description="Messages with seq less than this.")
]
