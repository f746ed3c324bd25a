"""Alembic environment and versions (one history that builds the whole schema)."""
