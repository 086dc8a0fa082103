"""Telegram update handlers, one module per feature, joined here in order.

Order matters: PTB runs the first matching handler of a group, so specific handlers come
before the fallback that answers everything else with a hint.
"""

from __future__ import annotations

from telegram.ext import Application

from handlers import (
    announce,
    away,
    buttons,
    desk,
    digest,
    export,
    fallback,
    groups,
    meetings,
    notes,
    registration,
    report_files,
    roster_import,
    tasks,
)
from handlers.errors import on_error


def register(application: Application) -> None:
    # report_files after roster_import: an admin's document captioned /import is a roster.
    features = (
        registration,
        groups,
        roster_import,
        report_files,
        meetings,
        tasks,
        digest,
        announce,
        away,
        desk,
    )
    for module in (*features, buttons, notes):
        application.add_handlers(module.handlers())
    application.add_handlers(export.handlers())
    application.add_handlers(fallback.handlers())  # last: whatever nobody else took
    application.add_error_handler(on_error)
