"""`dieuphoi sandbox [--port 8080] [--data DIR] [--reset]`: checks what can be told in
one line before anything starts (exit 2), then runs the sandbox until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from bot import i18n
from bot.cli import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, _upgrade
from bot.config import ConfigError
from bot.logs import setup_logging
from bot.sandbox.run import (
    CLOCK_STATE,
    DATABASE,
    HOST,
    TELEGRAM_STATE,
    SandboxDataError,
    sandbox_settings,
    serve,
)

# What --reset deletes: the sandbox's own files, never the rest of the folder.
_OWN_FILES = (
    DATABASE,
    f"{DATABASE}-wal",
    f"{DATABASE}-shm",
    f"{DATABASE}-journal",
    f"{DATABASE}.migrate-lock",
    TELEGRAM_STATE,
    CLOCK_STATE,
)


class _Refused(Exception):
    pass


def run_sandbox(data_dir: Path, port: int, *, reset: bool = False) -> int:
    try:
        _check_port(port)
        _prepare_folder(data_dir, reset=reset)
        setup_logging("WARNING")
        i18n.load_catalogs()
        settings = sandbox_settings(data_dir)
        i18n.speak_for(settings.secretariat_name, settings.secretariat_name_en)
        _upgrade(settings)  # a database of a newer schema: the line `dieuphoi run` prints
    except _Refused as refused:
        print(refused, file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(data_dir, port, announce=_announce))
    except SandboxDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as error:
        print(f"error: the sandbox stopped: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _announce(line: str) -> None:
    print(line, flush=True)


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise _Refused(f"error: --port {port}: a port is a number from 1 to 65535")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise _Refused(
                f"error: --port {port}: {HOST}:{port} is already in use ({error.strerror}); "
                "stop what uses it or choose another port with --port"
            ) from None


def _prepare_folder(data_dir: Path, *, reset: bool) -> None:
    if data_dir.exists() and not data_dir.is_dir():
        raise _Refused(f"error: --data {data_dir}: this is a file, not a folder")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-test-"):
            pass
    except OSError as error:
        raise _Refused(
            f"error: --data {data_dir}: cannot write in this folder ({error.strerror})"
        ) from None
    if reset:
        for name in _OWN_FILES:
            (data_dir / name).unlink(missing_ok=True)
        shutil.rmtree(data_dir / "files", ignore_errors=True)
