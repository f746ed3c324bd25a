"""The Telegram bridge (`parley bridge telegram`): the symptom bot and study groups inside
Telegram, as a client of Parley's documented protocol (docs/telegram.md)."""
