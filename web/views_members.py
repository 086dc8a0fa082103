"""The members pages (admins): the roster, one member (invitation link, removal), the
admins, and the roster import (upload, preview, confirmation). Thin: parse, call one
service of bot/services/desk_members.py, render."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.i18n import Msg, _
from bot.services import desk_members, roster
from handlers.views import role_label
from web.render import render
from web.security import BOT_USERNAME, UPLOAD, Upload, deps_of, visit
from web.view_helpers import admin_asking, path_id, see_other, sign_in_page


def _ttl(request: web.Request) -> timedelta:
    return timedelta(days=deps_of(request).settings.invite_ttl_days)


def _states() -> list[tuple[str, str]]:
    return [
        ("", _("on the roster")),
        (desk_members.MemberState.WAITING.value, _("not registered yet")),
        (desk_members.MemberState.REGISTERED.value, _("registered")),
        (desk_members.MemberState.UNREACHABLE.value, _("registered, cannot be reached")),
        (desk_members.MemberState.REMOVED.value, _("removed")),
    ]


def _state_labels() -> dict[str, str]:
    labels = dict(_states())
    labels[desk_members.MemberState.REGISTERED.value] = _("registered")
    return labels


async def members_page(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    query = request.query
    try:
        page = int(query.get("page", "1")[:6])
    except ValueError:
        page = 1
    wanted = desk_members.MemberFilter(
        query=query.get("q", "")[:200].strip(),
        council=query.get("council", "")[:40],
        agency=query.get("agency", "")[:40],
        state=query.get("state", "")[:40],
        page=page,
    )
    db = visit().db
    listed = await desk_members.list_members(db, who, wanted)
    admins = await desk_members.list_admins(db, who)
    return render(
        request,
        "members.html",
        listed=listed,
        wanted=wanted,
        states=_states(),
        state_labels=_state_labels(),
        admins=admins,
        role_label=role_label,
    )


async def member_detail(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    found = await desk_members.member_page(visit().db, who, path_id(request, "member_id"))
    return render(
        request, "member.html", found=found, states=_state_labels(), role_label=role_label
    )


async def reissue_link(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    key = await desk_members.reissue_link(
        visit().db,
        deps.clock.now(),
        who,
        path_id(request, "member_id"),
        _ttl(request),
        request.app[BOT_USERNAME],
    )
    return see_other(f"/members/links/{key}")


async def links_page(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    links = await desk_members.issued_links(
        visit().db, deps.clock.now(), who, request.match_info["key"]
    )
    return render(request, "member_links.html", links=links)


async def remove_page(request: web.Request) -> web.StreamResponse:
    """The confirmation: removing is one more, deliberate press."""
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    found = await desk_members.member_page(visit().db, who, path_id(request, "member_id"))
    return render(request, "member_remove.html", found=found, role_label=role_label)


async def remove_member(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    member_id = path_id(request, "member_id")
    await desk_members.remove_member(visit().db, deps_of(request).clock.now(), who, member_id)
    return see_other(f"/members/{member_id}")


# --- the import ---------------------------------------------------------------------------


async def import_form(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    return render(request, "members_import.html", error="")


def _refused(request: web.Request, message: Msg | str) -> web.Response:
    text = message if isinstance(message, str) else message.render()
    return render(request, "members_import.html", status=400, error=text)


async def upload_roster(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    upload = request.get(UPLOAD)
    assert isinstance(upload, Upload)  # security.uploads reads every POST to this route
    if upload.too_large:
        return _refused(request, roster.too_large())
    if upload.unreadable or not upload.data:
        return _refused(request, _("Please choose a roster file (CSV or XLSX) to upload."))
    if upload.refused is not None:
        return _refused(request, upload.refused.render())
    rows = upload.read  # read (off the event loop) before the transaction: security.uploads
    if not isinstance(rows, list):  # the right came meanwhile: read for an admin only
        return _refused(request, _("Please choose a roster file (CSV or XLSX) to upload."))
    deps = deps_of(request)
    key = await desk_members.preview_import(
        visit().db, deps.clock.now(), who, upload.filename, rows, deps.settings.invite_ttl_days
    )
    return see_other(f"/members/import/{key}")


async def import_page(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    view = await desk_members.import_page(
        visit().db, deps_of(request).clock.now(), who, request.match_info["key"]
    )
    changed = request.query.get("changed") == "1" and not view.applied
    return render(request, "members_import_preview.html", view=view, changed=changed)


async def confirm_import(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    key = request.match_info["key"]
    same = await desk_members.confirm_import(
        visit().db,
        deps.clock.now(),
        who,
        key,
        deps.settings.invite_ttl_days,
        request.app[BOT_USERNAME],
    )
    return see_other(f"/members/import/{key}" + ("" if same else "?changed=1"))
