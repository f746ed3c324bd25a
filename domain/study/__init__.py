"""Study groups live: quiz sessions run by the server, and leaderboards.

- events.py: the events of `quiz:{id}` and `leaderboard:{room_id}`;
- sessions.py: creating, starting, answering and advancing a session (PostgreSQL is the
  truth; every transition is a conditional UPDATE);
- boards.py: leaderboards as Redis sorted sets rebuilt from PostgreSQL on demand;
- history.py: a member's attempts and per-subject accuracy.

Nothing here imports FastAPI or realtime/: the runner and the snapshot coalescer live in
realtime/study.py and call in here.
"""
