"""Symptom2Specialist's conversations: the bot that answers in `bot_conversation` rooms.

    events.py      the wire vocabulary: stream_start / delta / stream_end, the bot message
    config.py      BotConfig: limits, timeouts, pacing (built from app settings)
    providers.py   the Provider interface and the offline engine as a provider
    openai_provider.py   any OpenAI-compatible server through the official client
    verdict.py     the model's strict last line: filtered out of the text, validated
    store.py       PostgreSQL: grants (one answer in flight per conversation), answers
    live.py        Redis: key names, the in-flight answer's stream, catch-up for subscribers
    runtime.py     Runtime (sessions, broker, config) and Job (the one answer to generate)
    generation.py  one answer: producer, coalescing window, cancel/lease checks, finalize
    announce.py    an answer's stream events on its room, and its end (stream_end, message)
    closing.py     what closes an answer: the note of an unfinished one, triage info, doctors
    service.py     BotService: send, cancel, sweep interrupted answers, delete

This package never imports FastAPI or realtime/. Message text never reaches a log line.
"""
