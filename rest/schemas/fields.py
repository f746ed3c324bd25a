"""Field types every REST schema builds on: text PostgreSQL can store, ids in column range.

PostgreSQL text cannot hold NUL (U+0000), and asyncpg cannot encode an unpaired surrogate
(U+D800-U+DFFF alone, which JSON's `\\ud800` escape produces) as UTF-8: either would reach
the database and fail there as a 500. Every text field is `Text` (or built on it), so both
are refused at the edge as 422 `invalid`. Numbers are bounded to their columns' types
(models/): 32-bit `Integer` ids, 64-bit `BigInteger` message seqs.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from domain.limits import INT32_MAX, INT64_MAX


def storable_text(value: str) -> str:
    """`value` unchanged, if PostgreSQL can store it as text."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (U+0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain unpaired surrogates (U+D800-U+DFFF)") from None
    return value


# Goes LAST in an Annotated string type, after its constraints:
#     Annotated[str, StringConstraints(max_length=80), Storable]
# (pydantic silently drops length constraints that follow an AfterValidator).
Storable = AfterValidator(storable_text)
RowId = Annotated[int, Field(ge=1, le=INT32_MAX)]
Seq = Annotated[int, Field(ge=0, le=INT64_MAX)]
