"""The outbox: every message the bot sends on its own initiative is a row first.

`plan` turns meetings and tasks into rows, `store` inserts, claims and records them,
`render` turns a row into a text for its recipient at the moment it is sent, and
`jobs/outbox.py` runs the passes and talks to Telegram.
"""
