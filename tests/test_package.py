"""The wheel carries every file the bot reads at run time (`pip install .`, not `-e`).

`.ci/wheel-smoke` installs the wheel and runs it; this test catches a missing file in the
ordinary suite, in a few seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a fresh clone does not have: the developer's venv, build output, local data.
_NOT_IN_A_CLONE = {".git", ".venv", "build", "data", "sandbox-data", ".env"}
_JUNK = ("__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache")


def _ignore(folder: str, names: list[str]) -> set[str]:
    at_root = Path(folder) == ROOT
    return {
        name
        for name in names
        if (at_root and name in _NOT_IN_A_CLONE)
        or name in _JUNK
        or name.endswith((".egg-info", ".mo", ".pyc"))
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # Built from a copy: setuptools reuses an existing build/ folder, whose stale files
    # would hide a file the configuration no longer ships.
    source = tmp_path_factory.mktemp("source") / "dieuphoi"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_ignore)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        cwd=source, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [path] = out.glob("dieuphoi-*.whl")
    return zipfile.ZipFile(path)


def _runtime_files() -> set[str]:
    """Every file of the three packages in the checkout (catalogs through bot/locale)."""
    found = set()
    for package in ("bot", "handlers", "jobs"):
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and not (set(path.parts) & set(_JUNK)) and path.suffix != ".mo":
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_the_wheel_holds_catalogs_migrations_and_data(wheel):
    names = set(wheel.namelist())
    for locale in ("vi", "en"):
        assert f"bot/locale/{locale}/LC_MESSAGES/messages.po" in names
    assert {"bot/migrations/env.py", "bot/migrations/script.py.mako"} <= names
    versions = {p.name for p in (ROOT / "bot" / "migrations" / "versions").glob("*.py")}
    assert len(versions) >= 6
    assert {f"bot/migrations/versions/{v}" for v in versions} <= names
    assert {
        "bot/data/agencies.csv",
        "bot/data/councils.csv",
        "bot/data/demo.toml",
        "bot/data/workdays.csv",
        # The sandbox's local Telegram checks every call against this list.
        "bot/sandbox/telegram/bot_api.json",
    } <= names
    # Whatever is added to the packages later (a data file, a template) ships too.
    missing = sorted(_runtime_files() - names)
    assert missing == [], f"in the checkout but not in the wheel: {missing}"


def test_the_shipped_catalogs_are_the_translators_files(wheel):
    for locale in ("vi", "en"):
        shipped = wheel.read(f"bot/locale/{locale}/LC_MESSAGES/messages.po")
        assert shipped == (ROOT / "locale" / locale / "LC_MESSAGES" / "messages.po").read_bytes()


def test_the_wheel_installs_the_dieuphoi_command(wheel):
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "dieuphoi = bot.cli:main" in wheel.read(entry_points).decode()
