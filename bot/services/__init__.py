"""Business rules. No Telegram objects in or out; callers own the session and commit."""
