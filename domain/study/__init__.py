"""Study groups live: quiz sessions run by the server, and leaderboards.

- events.py: the events of `quiz:{id}` and `leaderboard:{room_id}`;
- sessions.py: creating, starting, answering and advancing a session (PostgreSQL is the
  truth; every transition is a conditional UPDATE);
- boards.py: leaderboards as Redis sorted sets rebuilt from PostgreSQL on demand;
- history.py: a member's attempts and per-subject accuracy;
- live.py: the session runner (lease, takeover) and the board publisher (coalescing).

Nothing here imports FastAPI or realtime/; live.py runs the background work through
domain/tasks.py (supervised tasks).
"""
