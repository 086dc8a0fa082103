"""The tests' name for the local Bot API server, which ships in the package as
bot/sandbox/telegram (the sandbox runs on it): the same names, one list to keep."""

from bot.sandbox.telegram import *  # noqa: F403
from bot.sandbox.telegram import __all__ as __all__
