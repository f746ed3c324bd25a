"""The HTTP edge: what rest/ and realtime/ both need and neither owns.

The service container and its FastAPI dependency, the error schema with the one mapping of
errors to HTTP responses, and the bounded path/query parameters. It imports domain/,
models/, broker/ and app.settings (configuration, a leaf) — never rest/, realtime/ or the
rest of app/ (docs/decisions/0011-layering-and-sans-io-session.md).
"""
