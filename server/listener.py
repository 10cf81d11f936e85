"""The listening side: accepting connections under the limits, and running the app.

aiohttp's ``web.run_app`` takes no request-handler class, and the guards here must act before
aiohttp reads a byte, so ``run`` does what ``run_app`` does (a runner, a TCP site, the signal
handlers, cleanup on the way out) with a runner whose protocol factory makes
``GuardedRequestHandler``:

- at ``connection_made`` a connection from an address shed in an overload
  (``server/address_load.py``) or over the per-address cap gets a 429, and one the descriptor
  budget has no room for a 503, all in the SPEC §5 error shape, and is closed before aiohttp
  sees it. When the budget is full, the oldest connections that never completed a request (then
  the longest-idle kept-alive ones) are closed to make room first (``server/conn_limits.py``);
- a connection that has not sent a whole request head within ``HEADER_TIMEOUT`` of connecting,
  or of starting its next request, is closed (slowloris), and so is one whose request body is
  not all there ``BODY_TIMEOUT`` after its head (a slow body: a head with ``Content-Length:
  60000``, then a byte every few seconds). aiohttp has neither timeout of its own: its
  keep-alive timer only closes a connection that is idle 75 s after a response.

Start-up also raises the soft descriptor limit as far as the system allows, and accept errors
reported through the loop's exception handler become one rate-limited log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
from pathlib import Path
from typing import Any, cast

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from engine.errors import RateLimited, Unavailable
from server.address_load import ADDRESS_LOAD, AddressLoad
from server.client_address import is_trusted_proxy, limit_key
from server.conn_limits import CONN_LIMITS, RETRY_AFTER, ConnLimits
from server.errors import error_body, status_of
from server.http_protocol import GameAppRunner, GameRequestHandler
from server.keys import METRICS, SETTINGS
from server.metrics import Metrics
from server.models import encode_json
from settings import Network

log = logging.getLogger("ctb.server")

ACCEPT_BACKLOG = 4096  # the kernel caps it at net.core.somaxconn
KEEPALIVE_TIMEOUT = 75.0  # aiohttp's run_app default: an idle keep-alive connection closes
ACCEPT_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
REASONS = {429: "Too Many Requests", 503: "Service Unavailable"}
NR_OPEN = Path("/proc/sys/fs/nr_open")  # Linux: the most descriptors a process may have


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
SHED = refusal_bytes(
    RateLimited(
        "this address sends more requests than the server can take now", retry_after=RETRY_AFTER
    )
)
REFUSALS = {"per_address": TOO_MANY, "server_full": FULL, "shed": SHED}


class GuardedRequestHandler(GameRequestHandler):
    """The game's protocol (errors in the SPEC's shape) with the connection caps, shedding,
    and the head and body deadlines."""

    __slots__ = (
        "_address_key",
        "_addresses",
        "_body",
        "_body_timeout",
        "_counted",
        "_deadline",
        "_header_timeout",
        "_limits",
        "_metrics",
        "_proxies",
        "_websocket",
    )

    def __init__(
        self,
        manager: web.Server,
        *,
        limits: ConnLimits,
        addresses: AddressLoad,
        metrics: Metrics,
        proxies: tuple[Network, ...],
        header_timeout: float,
        body_timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._addresses = addresses
        self._metrics = metrics
        self._proxies = proxies
        self._header_timeout = header_timeout
        self._body_timeout = body_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._body: StreamReader | None = None  # a request body still arriving
        self._address_key: str | None = None
        self._counted = False  # holds a place in the limits until ``_release``
        self._websocket = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        key = None if is_trusted_proxy(host, self._proxies) else limit_key(host)
        reason = None
        if key is not None:
            self._addresses.note(key)
            if self._addresses.shed_for(key) > 0:
                reason = "shed"
                self._metrics.overload_refused_total.labels(what="shed_connection").inc()
        if reason is None:
            reason = self._limits.admit(self, key)
        if reason is not None:
            self._limits.refusals.note("connection_refused", reason, address=host)
            stream = cast(asyncio.Transport, transport)  # uvloop's is not a subclass of it
            with contextlib.suppress(OSError, RuntimeError):
                stream.write(REFUSALS[reason])
            stream.close()
            self._manager = None  # aiohttp never saw it: connection_lost has nothing to undo
            return
        self._address_key, self._counted = key, True
        super().connection_made(transport)
        self._arm(self._header_timeout, "header_timeout")

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._manager is None:
            return  # refused at connection_made, or already lost
        self._release()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        heads = self._request_count
        super().data_received(data)
        if self._upgraded:  # a WebSocket: its own heartbeat watches it, and it is never evicted
            if not self._websocket:
                self._websocket = True
                self._disarm()
                self._limits.lineup.left(self)
            return
        if self._request_count != heads:  # a whole request head arrived (or several)
            messages = self._messages
            body = messages[-1][1] if messages else None
            if body is not None and not body.is_eof():
                self._body = body
                self._arm(self._body_timeout, "body_timeout")
            else:
                self._completed()
        elif self._body is not None:
            if self._body.is_eof():
                self._completed()
        elif data and self._deadline is None and self._waiting_for_request():
            self._arm(self._header_timeout, "header_timeout")  # the next request's first bytes

    # -- what the connection limits ask of a connection (conn_limits.Evictable) -----------

    def evict(self, reason: str) -> None:
        """Close at once to make room for a new connection; the counts are given back now."""
        self._release()
        transport = self.transport
        if transport is not None:
            transport.abort()  # no close handshake to wait for: the descriptor goes now
        self.force_close()

    def idle(self) -> bool:
        return not self._messages and self._deadline is None and self._waiting_for_request()

    # -- internals -------------------------------------------------------------------------

    def _release(self) -> None:
        self._disarm()
        self._body = None
        if self._counted:
            self._counted = False
            self._limits.release(self, self._address_key)

    def _completed(self) -> None:
        """A whole request (head and body) is in: no deadline until the next one starts."""
        self._body = None
        self._disarm()
        self._limits.lineup.served(self)

    def _waiting_for_request(self) -> bool:
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def _arm(self, seconds: float, reason: str) -> None:
        self._disarm()
        self._deadline = self._loop.call_later(seconds, self._late, reason)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _late(self, reason: str) -> None:
        self._deadline = None
        self._limits.refusals.note("connection_closed", reason)
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
                addresses=app[ADDRESS_LOAD],
                metrics=app[METRICS],
                proxies=settings.trusted_proxies,
                header_timeout=settings.header_timeout,
                body_timeout=settings.body_timeout,
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
    """Raise the soft RLIMIT_NOFILE as far as the system allows; returns (before, after), read
    back from the kernel, so the log says what the process got rather than what it asked for.

    The hard limit caps it; an unlimited hard limit is capped by the kernel's ``nr_open``.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return soft, soft
    target = hard
    if hard == resource.RLIM_INFINITY:
        try:
            target = int(NR_OPEN.read_text())
        except (OSError, ValueError):
            target = soft
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]


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


async def serve(
    app: web.Application, host: str, port: int, shutdown_timeout: float, reuse_port: bool = False
) -> None:
    """Run ``app`` until cancelled (a signal raises ``GracefulExit`` out of the loop).

    ``reuse_port``: gateways of one machine share ``HOST:PORT`` and the kernel spreads the new
    connections over them (``SO_REUSEPORT``, SPEC §11).
    """
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
        site = web.TCPSite(
            runner, host, port, backlog=ACCEPT_BACKLOG, reuse_port=reuse_port or None
        )
        await site.start()
        url = page_url(host, runner.addresses[0][1] if runner.addresses else port)
        log.info(f"open {url}", extra={"event": "listening", "url": url})
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run(
    app: web.Application, host: str, port: int, shutdown_timeout: float, reuse_port: bool = False
) -> None:
    """``web.run_app`` with the guarded runner; errors from start-up propagate to the caller."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(serve(app, host, port, shutdown_timeout, reuse_port))
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
