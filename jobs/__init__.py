"""Scheduled work (APScheduler through PTB's JobQueue).

Jobs only say *when* to look; the database says *what* is due. Each job is a small module
(`jobs/<name>.py`, a coroutine ending in `_job` that takes only `context`). The reminder
planner and the outbox dispatcher arrive here with meetings and tasks.
"""
