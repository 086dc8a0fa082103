"""The desk (SPEC §9): a second thin front over the same services as the chat.

`web/app.py` builds the aiohttp application and its server; `process.py` runs that server
in a process of its own, which `dieuphoi run` starts beside the bot's; `routes.py` lists
every URL; `security.py` holds the checks every request passes through (Host, session,
CSRF, headers); `views.py` parses, calls one service, renders a template (`render.py`,
Jinja2 with autoescaping, texts from the same gettext catalogs).
"""
