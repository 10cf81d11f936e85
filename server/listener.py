"""The listening side: accepting connections under the limits, and running the app.

aiohttp's ``web.run_app`` takes no request-handler class, and the two guards here must act
before aiohttp reads a byte, so ``run`` does what ``run_app`` does (a runner, a TCP site, the
signal handlers, cleanup on the way out) with a runner whose protocol factory makes
``GuardedRequestHandler``:

- at ``connection_made`` a connection over the per-address cap gets a 429, and one over the
  total cap (the descriptor budget) a 503, both in the SPEC §5 error shape, and is closed before
  aiohttp sees it (``server/conn_limits.py``);
- a connection that has not sent a whole request head within ``HEADER_TIMEOUT`` of connecting,
  or of starting its next request, is closed (slowloris). aiohttp has no such timeout of its
  own: its keep-alive timer only closes a connection that is idle 75 s after connecting.

Start-up also raises the soft descriptor limit to the hard one, and accept errors reported
through the loop's exception handler become one rate-limited log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
from typing import Any, cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from engine.errors import RateLimited, Unavailable
from server.client_address import is_trusted_proxy, limit_key
from server.conn_limits import CONN_LIMITS, RETRY_AFTER, ConnLimits
from server.errors import error_body, status_of
from server.http_protocol import GameAppRunner, GameRequestHandler
from server.keys import SETTINGS
from server.models import encode_json
from settings import Network

log = logging.getLogger("ctb.server")

ACCEPT_BACKLOG = 4096  # the kernel caps it at net.core.somaxconn
KEEPALIVE_TIMEOUT = 75.0  # aiohttp's run_app default: an idle keep-alive connection closes
ACCEPT_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
REASONS = {429: "Too Many Requests", 503: "Service Unavailable"}


def refusal_bytes(error: RateLimited | Unavailable) -> bytes:
    """A whole HTTP/1.1 reply in the error shape, written before reading the request."""
    status = status_of(error)
    body = encode_json(error_body(error.code, error.message, error.details))
    head = (
        f"HTTP/1.1 {status} {REASONS[status]}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Retry-After: {int(RETRY_AFTER)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


TOO_MANY = refusal_bytes(
    RateLimited("too many connections from this address", retry_after=RETRY_AFTER)
)
FULL = refusal_bytes(Unavailable("the server has no room for another connection"))


class GuardedRequestHandler(GameRequestHandler):
    """The game's protocol (errors in the SPEC's shape) with the per-address and total caps
    and a header-read timeout."""

    __slots__ = ("_address_key", "_header_timeout", "_header_timer", "_limits", "_proxies")

    def __init__(
        self,
        manager: web.Server,
        *,
        limits: ConnLimits,
        proxies: tuple[Network, ...],
        header_timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._proxies = proxies
        self._header_timeout = header_timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._address_key: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        limits = self._limits
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        refusal = None
        if limits.full():
            refusal, reason = FULL, "server_full"
        elif not is_trusted_proxy(host, self._proxies):
            key = limit_key(host)
            if limits.per_address.take(key):
                self._address_key = key
            else:
                refusal, reason = TOO_MANY, "per_address"
        if refusal is not None:
            limits.refusals.note("connection_refused", reason, address=host)
            stream = cast(asyncio.Transport, transport)  # uvloop's is not a subclass of it
            with contextlib.suppress(OSError, RuntimeError):
                stream.write(refusal)
            stream.close()
            self._manager = None  # aiohttp never saw it: connection_lost has nothing to undo
            return
        limits.total += 1
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._manager is None:
            return  # refused at connection_made, or already lost
        limits = self._limits
        limits.total -= 1
        if self._address_key is not None:
            limits.per_address.give_back(self._address_key)
            self._address_key = None
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        requests_before = self._request_count
        super().data_received(data)
        if self._upgraded or self._request_count != requests_before:
            self._cancel_header_timer()  # a whole request head arrived, or a WebSocket runs
        elif data and self._header_timer is None and self._waiting_for_request():
            self._arm_header_timer()  # the first bytes of the next request on a kept-alive one

    def _waiting_for_request(self) -> bool:
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def _arm_header_timer(self) -> None:
        self._header_timer = self._loop.call_later(self._header_timeout, self._headers_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        self._limits.refusals.note("connection_closed", "header_timeout")
        self.force_close()


class GuardedServer(web.Server):
    """aiohttp's protocol factory, making ``GuardedRequestHandler`` instead."""

    def __init__(self, *args: Any, make_handler: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._make_handler = make_handler

    def __call__(self) -> RequestHandler:
        return self._make_handler(self)


class GuardedRunner(GameAppRunner):
    __slots__ = ()

    async def _make_server(self) -> web.Server:
        base = await super()._make_server()
        app = self.app
        settings = app[SETTINGS]
        limits = app[CONN_LIMITS]
        kwargs = base._kwargs  # what aiohttp would have given its own RequestHandler
        loop = asyncio.get_running_loop()

        def make_handler(server: web.Server) -> RequestHandler:
            return GuardedRequestHandler(
                server,
                loop=loop,
                limits=limits,
                proxies=settings.trusted_proxies,
                header_timeout=settings.header_timeout,
                **kwargs,
            )

        return GuardedServer(
            base.request_handler,
            request_factory=base.request_factory,
            handler_cancellation=base.handler_cancellation,
            loop=loop,
            make_handler=make_handler,
            **kwargs,
        )


def raise_descriptor_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard one where allowed; returns (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard or soft == resource.RLIM_INFINITY:
        return soft, soft
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return soft, hard
    return soft, soft


def log_accept_errors(loop: asyncio.AbstractEventLoop, limits: ConnLimits) -> None:
    """Report failed accepts (out of descriptors or memory) as one rate-limited log line.

    asyncio's own loop reports them through the exception handler; uvloop accepts and drops
    the waiting connections itself and reports nothing, which the total cap in
    ``server/conn_limits.py`` is there to prevent.
    """
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, OSError) and error.errno in ACCEPT_ERRNOS:
            limits.refusals.note(
                "connection_refused",
                "accept_failed",
                error=str(error),
                connections=limits.total,
                detail=context.get("message"),
            )
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def page_url(host: str, port: int) -> str:
    """The address a person on this machine opens: localhost for any local or wildcard host."""
    local = host in ("", "0.0.0.0", "::", "127.0.0.1", "::1", "localhost")
    shown = "localhost" if local else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/"


async def serve(app: web.Application, host: str, port: int, shutdown_timeout: float) -> None:
    """Run ``app`` until cancelled (a signal raises ``GracefulExit`` out of the loop)."""
    runner = GuardedRunner(
        app,
        handle_signals=True,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
        keepalive_timeout=KEEPALIVE_TIMEOUT,
    )
    await runner.setup()
    try:
        log_accept_errors(asyncio.get_running_loop(), app[CONN_LIMITS])
        # A burst of connects (thousands of pages after a restart) while the loop is busy must
        # wait in the kernel's queue, to be answered (or refused with 503) when accepted; with
        # aiohttp's 128 the kernel drops the SYNs beyond and clients time out retrying.
        site = web.TCPSite(runner, host, port, backlog=ACCEPT_BACKLOG)
        await site.start()
        url = page_url(host, runner.addresses[0][1] if runner.addresses else port)
        log.info(f"open {url}", extra={"event": "listening", "url": url})
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run(app: web.Application, host: str, port: int, shutdown_timeout: float) -> None:
    """``web.run_app`` with the guarded runner; errors from start-up propagate to the caller."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(serve(app, host, port, shutdown_timeout))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            if not main.done():
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(main)
        finally:
            rest = asyncio.all_tasks(loop)
            for task in rest:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
