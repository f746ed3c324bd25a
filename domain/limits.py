"""Limits shared by every transport, so REST and WebSocket refuse the same things.

A plain module of constants: realtime/ and rest/ both import it without importing each
other.
"""

from __future__ import annotations

# A JWT Parley issues is a few hundred characters; anything this long is not one of ours.
# WebSocket `auth`/`refresh` frames and the REST `Authorization: Bearer` header both cap here.
MAX_TOKEN_CHARS = 4096

# Column ranges (models/): PostgreSQL refuses anything outside them, so every edge refuses it
# first. Integer: ids of users, rooms, quizzes, questions, attempts.
INT32_MAX = 2**31 - 1
# BigInteger: message seq, read positions.
INT64_MAX = 2**63 - 1
