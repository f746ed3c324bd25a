"""The built-in channel kinds. Importing this package registers them all."""

from realtime.kinds import room

__all__ = ["room"]
