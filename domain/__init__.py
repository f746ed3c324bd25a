"""Parley's use cases as plain async code. Never imports FastAPI or any transport."""
