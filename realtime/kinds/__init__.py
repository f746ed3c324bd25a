"""The built-in channel kinds. Importing this package registers them all."""

from realtime.kinds import leaderboard, quiz, room, user

__all__ = ["leaderboard", "quiz", "room", "user"]
