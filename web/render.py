"""Templates: Jinja2 with autoescaping on, texts through the bot's gettext catalogs."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot import formats
from bot.i18n import _, current_locale, ngettext

TEMPLATES = "templates"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("web", TEMPLATES),
        # Every value is escaped unless a template says otherwise (none does).
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # The current locale is the request's (set by the session middleware).
    env.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["locale"] = current_locale
    env.filters["day"] = _day
    env.filters["moment"] = _moment
    env.filters["period"] = _period
    env.filters["document"] = _document
    return env


def _day(value: Any, tz: Any) -> str:
    return formats.format_day(value, tz, current_locale())


def _moment(value: Any, tz: Any) -> str:
    return formats.format_moment(value, tz, current_locale())


def _period(label: str) -> str:
    return formats.format_period(label, current_locale())


def _document(ref: str) -> str:
    return formats.format_document(ref, current_locale())


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """The page, for the person asking, in their language."""
    from web.security import deps_of, visit  # here: security renders its error page

    current = visit()
    template_ = environment().get_template(template)
    page = template_.render(
        request=request,
        who=current.who,
        csrf=current.csrf,
        tz=deps_of(request).settings.tz,
        **context,
    )
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


STATIC_DIR = Path(__file__).parent / "static"
