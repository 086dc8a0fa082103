"""Every URL of the desk, in one place (SPEC §9)."""

from __future__ import annotations

from aiohttp import web

from web import views, views_meetings
from web.render import STATIC_DIR


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", views.overview_page, name="overview")  # admins
    app.router.add_get("/my", views.my_page, name="my")  # a member's tasks and meetings
    app.router.add_get("/tasks", views.tasks_page, name="tasks")  # admins
    # Admins: any task; a member: a task of their agency (any other is not found).
    app.router.add_get(r"/tasks/{task_id:\d+}", views.task_detail, name="task")
    # Admins: create, edit, cancel (the confirmation page, then its POST).
    app.router.add_get("/tasks/new", views.new_task_page, name="task_new")
    app.router.add_post("/tasks/new", views.create_task)
    app.router.add_post(r"/tasks/{task_id:\d+}/edit", views.edit_task)
    app.router.add_get(r"/tasks/{task_id:\d+}/cancel", views.cancel_task_page)
    app.router.add_post(r"/tasks/{task_id:\d+}/cancel", views.cancel_task)
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
    app.router.add_get("/auth/link/{token}", views.link_page, name="link")
    app.router.add_post("/auth/link/{token}", views.link_sign_in)
    app.router.add_post("/auth/telegram", views.telegram_sign_in, name="telegram")
    app.router.add_post("/auth/logout", views.logout, name="logout")
    # One stylesheet and one small script; served by the bot itself (no CDN).
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=True)
