"""The commands the bot offers, for the command menus and /help, defined once."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_


@dataclass(frozen=True)
class Command:
    name: str
    menu: str  # short description for Telegram's command menu (≤ 256 characters)
    usage: str  # the line shown in /help: how to call it


MEMBER_COMMANDS = (
    Command(
        "start", N_("Register with your invitation link"), N_("/start — register or say hello")
    ),
    Command("help", N_("What you can do here"), N_("/help — this list")),
    Command(
        "whoami",
        N_("Your name, agency, councils and roles"),
        N_("/whoami — what the bot knows about you"),
    ),
    Command(
        "lang",
        N_("Change language: vi or en"),
        N_("/lang vi|en — change the language, e.g. /lang en"),
    ),
    Command(
        "status",
        N_("Report on your agency's tasks"),
        N_("/status — your agency's open tasks, with buttons to report their status"),
    ),
    Command(
        "tasks",
        N_("Open tasks and each agency's status"),
        N_("/tasks [COUNCIL] — open tasks with deadlines and each agency's status"),
    ),
    Command(
        "meetings",
        N_("Upcoming meetings"),
        N_("/meetings [COUNCIL] — upcoming meetings, with buttons to answer"),
    ),
    Command(
        "submit",
        N_("Send your agency's report file on a task"),
        N_(
            "/submit TASK_ID — as the caption of the report file (PDF, DOC/DOCX, XLS/XLSX, "
            "ODT/ODS or photos), e.g. /submit 12 Số 123/BC-UBND ngày 10/12/2026; or send "
            "the file as a reply to the task's reminder"
        ),
    ),
    Command(
        "away",
        N_("Record an absence and choose a stand-in"),
        N_(
            "/away DD/MM/YYYY DD/MM/YYYY — record your absence (first and last day), then "
            "choose a stand-in of your agency"
        ),
    ),
    Command("back", N_("End your absence now"), N_("/back — end your absence now")),
    Command(
        "desk",
        N_("Open the desk: tasks and meetings on a web page"),
        N_(
            "/desk — in a private chat: open the desk (a web page) with a button or a one-time link"
        ),
    ),
)

ADMIN_COMMANDS = (
    Command(
        "newmeeting",
        N_("Schedule a meeting"),
        N_("/newmeeting COUNCIL DD/MM/YYYY HH:MM | TITLE [| PLACE] — schedule a meeting"),
    ),
    Command(
        "movemeeting",
        N_("Move a meeting to a new time"),
        N_("/movemeeting ID DD/MM/YYYY HH:MM — move a meeting (members are told)"),
    ),
    Command(
        "cancelmeeting",
        N_("Cancel a meeting"),
        N_("/cancelmeeting ID — cancel a meeting (members are told)"),
    ),
    Command(
        "newtask",
        N_("Create a task with a deadline"),
        N_(
            "/newtask COUNCIL AGENCY[,AGENCY…] DUE | TITLE [| every=month|quarter|half|year] "
            "[| period=PERIOD] [| ref=DOCUMENT] — create a task; DUE is a date or a period: "
            "31/12/2026, Q4/2026, H1/2027, 9M/2026, 2027; PERIOD the period a report covers"
        ),
    ),
    Command("canceltask", N_("Cancel a task"), N_("/canceltask ID — cancel a task")),
    Command(
        "files",
        N_("The report files received on a task"),
        N_("/files TASK_ID — each agency's latest report file, and who has sent none"),
    ),
    Command(
        "announce",
        N_("Send an announcement to a council or to all"),
        N_(
            "/announce COUNCIL|all — then the text on the following lines (or reply with it "
            "to your own message): preview, then 📣 to send"
        ),
    ),
    Command(
        "digest",
        N_("Post the council digest now"),
        N_("/digest [COUNCIL] — post the digest now to the council's groups (and see it)"),
    ),
    Command(
        "digestat",
        N_("Set when the weekly digest is posted"),
        N_("/digestat COUNCIL DAY HH:MM — e.g. /digestat DBSH fri 16:00 (default: Monday 08:30)"),
    ),
    Command(
        "export",
        N_("Export tasks and reports (XLSX)"),
        N_(
            "/export [COUNCIL] — an XLSX file of tasks and status reports, to file and print; "
            "/export MEETING_ID — a meeting's attendance list"
        ),
    ),
    Command(
        "import",
        N_("Import a roster (CSV/XLSX as a document)"),
        N_(
            "/import — in a private chat: send a CSV or XLSX roster as a document with this "
            "caption; the councils it names get exactly the members it lists"
        ),
    ),
    Command(
        "invite",
        N_("Fresh invitation links"),
        N_(
            "/invite MEMBER_ID|COUNCIL — in a private chat: a fresh invitation link for one "
            "member, or for every member of a council who has not registered"
        ),
    ),
    Command(
        "link",
        N_("Link this group to a council"),
        N_(
            "/link COUNCIL — in a group: link it to a council, e.g. /link DBSH; inside a "
            "topic of a forum group: link that topic"
        ),
    ),
    Command(
        "unlink",
        N_("Unlink this group"),
        N_("/unlink — in a group: unlink it; inside a topic: unlink that topic"),
    ),
)

GROUP_COMMANDS = (Command("help", N_("What the bot does in this group"), N_("/help — this list")),)
