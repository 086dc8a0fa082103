"""Expected failures. Each carries a message rendered later in the reader's language."""

from __future__ import annotations

from bot.i18n import Msg


class ServiceError(Exception):
    def __init__(self, message: Msg, *more: Msg) -> None:
        super().__init__(message.msgid)
        self.message = message
        # Further paragraphs, e.g. a command's usage with an example after the reason.
        self.more = more

    def render(self) -> str:
        return "\n\n".join(part.render() for part in (self.message, *self.more))


class BadInputError(ServiceError):
    """The request is malformed; nothing was changed."""


class NotAllowedError(ServiceError):
    """The requester may not do this; nothing was changed."""


class NotFoundError(ServiceError):
    """What the request names does not exist; nothing was changed."""


class UnavailableError(ServiceError):
    """A part the request needs (the file store…) is failing; nothing was changed, and the
    same request may succeed later."""
