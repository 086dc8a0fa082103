"""How the bot talks HTTP to the Bot API: aiohttp under python-telegram-bot's request API.

python-telegram-bot's own transport is httpx, which parses HTTP in pure Python (httpx,
httpcore, h11, anyio). At a deadline, when a council's members press status buttons by
the hundred, that took about a fifth of the bot's CPU (docs/benchmarks.md §4); aiohttp
parses in C. Behaviour is kept: form-encoded parameters, multipart when files are sent,
the same default timeouts, and timeouts and connection failures raised as
python-telegram-bot's `TimedOut` and `NetworkError` so the callers' handling is unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# python-telegram-bot's defaults (HTTPXRequest), in seconds.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0


class AiohttpRequest(BaseRequest):
    def __init__(self, connection_pool_size: int = 256) -> None:
        self._pool_size = connection_pool_size
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return READ_TIMEOUT

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        connect = _given(connect_timeout, CONNECT_TIMEOUT)
        timeout = aiohttp.ClientTimeout(
            # aiohttp's `connect` includes waiting for a pooled connection.
            connect=_plus(_given(pool_timeout, POOL_TIMEOUT), connect),
            sock_connect=connect,
            sock_read=_given(read_timeout, READ_TIMEOUT),
        )
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error


def _given(value: Any, default: float) -> float | None:
    """A timeout the caller passed (None means none), or the default."""
    if isinstance(value, type(BaseRequest.DEFAULT_NONE)):
        return default
    return None if value is None else float(value)


def _plus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """Form-encoded parameters, or multipart when the request carries files."""
    if request_data is None:
        return None
    if not request_data.contains_files:
        return request_data.json_parameters
    # File names as browsers (and httpx) send them, UTF-8 as they are: aiohttp would
    # percent-encode them, and Telegram would then show "B%C3%A1o%20c%C3%A1o.pdf" for
    # "Báo cáo.pdf".
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, part in request_data.multipart_data.items():
        filename, content, mimetype = part
        form.add_field(name, content, filename=_one_line(filename), content_type=mimetype)
    return form


def _one_line(filename: str | None) -> str | None:
    # A line break would end the part's header (a member's file name can hold anything).
    return re.sub(r"[\x00-\x1f\x7f]", " ", filename) if filename is not None else None


def retry_after_seconds(value: object) -> float:
    """Telegram's `retry_after` in seconds (python-telegram-bot 22 gives an int or, soon, a
    timedelta)."""
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
