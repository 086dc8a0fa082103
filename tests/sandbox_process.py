"""`dieuphoi sandbox` as its own process, for the end-to-end test and the benchmark: started
on a free port, "ready" awaited, its stderr read as it comes (a full pipe would stall it),
stopped with a signal."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.cli import cli_env, start_cli

READY = "Sandbox ready: open http://127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SandboxProcess:
    process: asyncio.subprocess.Process
    port: int
    ready_after: float  # seconds from the spawn to the "ready" line
    errors: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    async def start(cls, data: Path, cwd: Path, timeout: float = 30.0) -> SandboxProcess:
        port = free_port()
        started = time.monotonic()
        process = await start_cli(
            "sandbox", "--port", str(port), "--data", str(data), env=cli_env(cwd), cwd=cwd
        )
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        ready_after = time.monotonic() - started
        running = cls(process, port, ready_after)
        running._reader = asyncio.create_task(running._read())
        if line.decode().strip() != READY.format(port=port):
            code, err = await running.stop(signal.SIGKILL)
            raise AssertionError(f"not ready ({code}): {line.decode()!r}\n{err}")
        return running

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.errors.append(line.decode(errors="replace"))

    async def stop(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        """Stop it as Ctrl+C does; its exit code and what it wrote to stderr."""
        self.process.send_signal(signum)
        code = await asyncio.wait_for(self.process.wait(), 30)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        return code, "".join(self.errors)
