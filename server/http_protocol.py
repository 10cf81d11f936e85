"""aiohttp's HTTP/1.1 protocol with the game's replies to requests it cannot parse (SPEC §5).

A request line or header over aiohttp's limits, a malformed request line, an invalid header or
chunk: aiohttp's ``RequestHandler`` refuses these itself, before any middleware or route runs,
and its own reply is ``text/plain`` quoting the offending bytes back to the client.
``GameRequestHandler.handle_error`` answers in the SPEC's error shape instead and names only the
limit broken, never the request's bytes:

    request line over REQUEST_LINE_LIMIT bytes               414 uri_too_long
    a header over HEADER_FIELD_LIMIT bytes, or too many      431 headers_too_large
    anything else aiohttp's parser refuses                   400 invalid_request
    a handler failure that escaped the middleware            500 internal_error (or aiohttp's 5xx)

aiohttp reports both long lines as ``LineTooLong`` carrying the limit it broke, so the two
limits differ by two bytes to tell a long URL from a long header. aiohttp builds its handler
inside ``web.Server``, so ``GameAppRunner`` (``web.AppRunner`` with this handler) is what
``run.py`` serves with; connection hooks for the protocol belong in this class too. One is
``set_parser``: once a connection becomes a WebSocket, its frames pass ``MaskedFrames``
(``server/ws_frames.py``) before aiohttp's reader, since aiohttp takes unmasked client frames.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from engine.errors import GameError, InvalidRequest
from server.errors import HeadersTooLarge, InternalError, UriTooLong, http_error
from server.ws_frames import CLOSE_UNMASKED, MaskedFrames

log = logging.getLogger("ctb.http")

REQUEST_LINE_LIMIT = 8192  # bytes of the request line (the URL, in aiohttp's C parser)
HEADER_FIELD_LIMIT = 8190  # bytes of one header, name and value (aiohttp's default)
HEADER_COUNT_LIMIT = 128  # headers in one request (aiohttp's default)
TOO_MANY_HEADERS = "Too many headers received"  # aiohttp's message; it has no class of its own


def protocol_error(status: int, exc: BaseException | None) -> GameError:
    """The refusal to send for what aiohttp's protocol reported; never built from its bytes."""
    if isinstance(exc, LineTooLong):
        limit = exc.args[1] if len(exc.args) > 1 else None
        if limit == REQUEST_LINE_LIMIT:
            return UriTooLong(
                f"the request line is over {REQUEST_LINE_LIMIT} bytes",
                {"limit": REQUEST_LINE_LIMIT},
            )
        return HeadersTooLarge(
            f"a header is over {HEADER_FIELD_LIMIT} bytes", {"limit": HEADER_FIELD_LIMIT}
        )
    if isinstance(exc, BadHttpMessage) and exc.message == TOO_MANY_HEADERS:
        return HeadersTooLarge(
            f"more than {HEADER_COUNT_LIMIT} headers", {"limit": HEADER_COUNT_LIMIT}
        )
    if isinstance(exc, HttpProcessingError) or status < 500:
        return InvalidRequest("the request is not valid HTTP/1.1")
    return InternalError("internal error")


class GameRequestHandler(RequestHandler):
    """aiohttp's protocol, replying to what it cannot parse in the error shape, and checking
    that a WebSocket's client frames are masked."""

    frames: MaskedFrames | None = None  # set when the connection becomes a WebSocket

    def set_parser(self, parser: Any, data_received_cb: Callable[[], None] | None = None) -> None:
        self.frames = MaskedFrames(parser, self._unmasked)
        # aiohttp types this as its WebSocketReader; MaskedFrames stands in for one, passing
        # on the two calls the protocol makes (feed_data, feed_eof).
        super().set_parser(self.frames, data_received_cb)  # type: ignore[arg-type]

    def _unmasked(self) -> None:
        """An unmasked frame on a socket whose handler did not take it: 1002, and the end."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(CLOSE_UNMASKED)
            transport.close()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        error = protocol_error(status, exc)
        if isinstance(error, InternalError):
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
        else:
            log.debug(
                "unparseable request",
                extra={
                    "event": "bad_http_request",
                    "remote": request.remote,
                    "code": error.code,
                    "reason": type(exc).__name__ if exc is not None else None,
                },
            )
        if request.writer.output_size > 0:  # as aiohttp: a reply already began, cut it off
            raise ConnectionError("a response was already sent, cannot send an error after it")
        response = http_error(error)
        if isinstance(error, InternalError) and status != 500:
            response.set_status(status)  # aiohttp's 504 for a handler that timed out
        response.force_close()  # the parser cannot find where the next request starts
        return response


class GameServer(web.Server):
    """``web.Server`` whose connections use ``GameRequestHandler``."""

    def __call__(self) -> RequestHandler:
        return GameRequestHandler(self, loop=self._loop, **self._kwargs)


class GameAppRunner(web.AppRunner):
    """``web.AppRunner`` serving through ``GameServer``, with the limits above."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("max_line_size", REQUEST_LINE_LIMIT)
        kwargs.setdefault("max_field_size", HEADER_FIELD_LIMIT)
        kwargs.setdefault("max_headers", HEADER_COUNT_LIMIT)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return GameServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )
