"""Every URL of the desk, in one place (SPEC §9)."""

from __future__ import annotations

from aiohttp import web

from web import views, views_announcements, views_audit, views_meetings, views_members, views_my
from web.render import STATIC_DIR


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", views.overview_page, name="overview")  # admins
    app.router.add_get("/my", views_my.my_page, name="my")  # a member's tasks and meetings
    # A member's answer, note and file on a task of their agency (one form per task;
    # its file is received before the request's transaction: web/security.py uploads).
    app.router.add_post(r"/my/tasks/{task_id:\d+}/report", views_my.report_on_task)
    app.router.add_get("/tasks", views.tasks_page, name="tasks")  # admins
    # Admins: any task; a member: a task of their agency (any other is not found).
    app.router.add_get(r"/tasks/{task_id:\d+}", views.task_detail, name="task")
    # Admins: create, edit, cancel (the confirmation page, then its POST).
    app.router.add_get("/tasks/new", views.new_task_page, name="task_new")
    app.router.add_post("/tasks/new", views.create_task)
    app.router.add_post(r"/tasks/{task_id:\d+}/edit", views.edit_task)
    app.router.add_get(r"/tasks/{task_id:\d+}/cancel", views.cancel_task_page)
    app.router.add_post(r"/tasks/{task_id:\d+}/cancel", views.cancel_task)
    # Admins: announcements (compose, preview, confirm or edit, progress) and the audit log.
    app.router.add_get("/announcements", views_announcements.announcements_page)
    app.router.add_get("/announcements/new", views_announcements.new_announcement_page)
    app.router.add_post("/announcements/new", views_announcements.compose_announcement)
    app.router.add_get(
        r"/announcements/{announcement_id:\d+}", views_announcements.announcement_page
    )
    app.router.add_post(
        r"/announcements/{announcement_id:\d+}/confirm", views_announcements.confirm_announcement
    )
    app.router.add_post(
        r"/announcements/{announcement_id:\d+}/edit", views_announcements.edit_announcement
    )
    app.router.add_get("/audit", views_audit.audit_page)
    # Meetings (admins): list, create, one meeting (move, cancel, its attendance XLSX);
    # a member answers from /my.
    app.router.add_get("/meetings", views_meetings.meetings_page, name="meetings")
    app.router.add_get("/meetings/new", views_meetings.new_meeting_page, name="meeting_new")
    app.router.add_post("/meetings/new", views_meetings.create_meeting)
    app.router.add_get(r"/meetings/{meeting_id:\d+}", views_meetings.meeting_detail)
    app.router.add_post(r"/meetings/{meeting_id:\d+}/move", views_meetings.move_meeting)
    app.router.add_get(r"/meetings/{meeting_id:\d+}/cancel", views_meetings.cancel_meeting_page)
    app.router.add_post(r"/meetings/{meeting_id:\d+}/cancel", views_meetings.cancel_meeting)
    app.router.add_get(
        r"/meetings/{meeting_id:\d+}/attendance.xlsx", views_meetings.attendance_file
    )
    app.router.add_post(r"/my/meetings/{meeting_id:\d+}/answer", views_meetings.answer_meeting)
    # Admins: the roster, a member's link and removal, the admins; the roster import
    # (upload, then its preview with the confirmation, then what it did).
    app.router.add_get("/members", views_members.members_page, name="members")
    app.router.add_get(r"/members/{member_id:\d+}", views_members.member_detail)
    app.router.add_post(r"/members/{member_id:\d+}/invite", views_members.reissue_link)
    app.router.add_get(r"/members/{member_id:\d+}/remove", views_members.remove_page)
    app.router.add_post(r"/members/{member_id:\d+}/remove", views_members.remove_member)
    app.router.add_get("/members/links/{key}", views_members.links_page)
    app.router.add_get("/members/import", views_members.import_form, name="members_import")
    app.router.add_post("/members/import", views_members.upload_roster)
    app.router.add_get("/members/import/{key}", views_members.import_page)
    app.router.add_post("/members/import/{key}", views_members.confirm_import)
    app.router.add_get("/auth/link/{token}", views.link_page, name="link")
    app.router.add_post("/auth/link/{token}", views.link_sign_in)
    app.router.add_post("/auth/telegram", views.telegram_sign_in, name="telegram")
    app.router.add_post("/auth/logout", views.logout, name="logout")
    # One stylesheet and one small script; served by the bot itself (no CDN).
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=True)
