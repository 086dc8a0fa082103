"""The words of a roster file (SPEC §4): its column names and role words, in English and in
Vietnamese, and how a cell typed by hand is matched against them.

Matching is forgiving where spreadsheet users differ and strict where meaning would
change: Unicode NFC (a file saved on a Mac may hold decomposed letters), spaces trimmed
and collapsed (a trailing space or an Alt+Enter line break in a header cell), case
ignored ("HỌ VÀ TÊN" is how many official tables write headers), "_" and "-" the same
as a space ("full_name", "Full name", "vice-chair"). Diacritics are matched exactly:
"Ho va ten" is not "Họ và tên" — guessing at missing marks would turn "Cơ quan" into a
neighbour of "Có quan" and the next header set we add could collide.
"""

from __future__ import annotations

import unicodedata

from bot.i18n import current_locale
from bot.models import Role

REQUIRED_COLUMNS = ("council", "full_name", "position", "agency", "role")
OPTIONAL_COLUMNS = ("agency_name", "language", "phone", "email")

# Each column's Vietnamese name, in the order of SPEC §4 (and of the template).
VIETNAMESE_COLUMNS = {
    "council": "Hội đồng",
    "full_name": "Họ và tên",
    "position": "Chức vụ",
    "agency": "Cơ quan",
    "agency_name": "Tên cơ quan",
    "role": "Vai trò",
    "language": "Ngôn ngữ",
    "phone": "Điện thoại",
    "email": "Email",
}
COLUMNS = tuple(VIETNAMESE_COLUMNS)
assert set(COLUMNS) == {*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS}

# The role words a file may use besides the English values. "Uỷ viên" is the older
# placement of the tone mark, still common in official texts; both are the same word.
VIETNAMESE_ROLES = {
    Role.CHAIR: ("Chủ tịch",),
    Role.STANDING_VICE_CHAIR: ("Phó Chủ tịch Thường trực",),
    Role.VICE_CHAIR: ("Phó Chủ tịch",),
    Role.MEMBER: ("Ủy viên", "Uỷ viên"),
    Role.CONTACT: ("Đầu mối",),
}


def word_key(text: str) -> str:
    """The form in which a typed header or role word is compared."""
    folded = unicodedata.normalize("NFC", text).casefold().replace("-", " ").replace("_", " ")
    return "_".join(folded.split())


_COLUMN_BY_KEY = {
    word_key(name): column for column in COLUMNS for name in (column, VIETNAMESE_COLUMNS[column])
}
_ROLE_BY_KEY = {
    word_key(word): role for role in Role for word in (role.value, *VIETNAMESE_ROLES[role])
}


def column_of(header: str) -> str | None:
    """The column a header cell names ("Họ và tên ", "FULL NAME" → full_name), or None."""
    return _COLUMN_BY_KEY.get(word_key(header))


def role_of(word: str) -> Role | None:
    """The role a cell names; an empty cell is an ordinary member; None if unknown."""
    if not word.strip():
        return Role.MEMBER
    return _ROLE_BY_KEY.get(word_key(word))


def column_names(columns: tuple[str, ...]) -> str:
    """'Hội đồng (council), Họ và tên (full_name), …': both names a file may use."""
    return ", ".join(f"{VIETNAMESE_COLUMNS[c]} ({c})" for c in columns)


class AcceptedRoles:
    """The role words, listed in the language of whoever reads the message.

    A service's message is rendered later, in the reader's locale (bot.i18n.Msg); this
    parameter is rendered with it, so a Vietnamese admin reads the Vietnamese words and
    an English one the English values.
    """

    def __format__(self, spec: str) -> str:
        if current_locale() == "vi":
            words = [VIETNAMESE_ROLES[role][0] for role in Role]
        else:
            words = [role.value for role in Role]
        return format(", ".join(words), spec)

    def __str__(self) -> str:
        return format(self, "")
