"""What wraps every HTTP request: the error shape and the request-duration metric (SPEC §5, §10).

``errors`` turns every refusal into ``{"error": {"code", "message", "details"}}`` through
``server.errors.http_error``: domain errors from handlers and the actor, and aiohttp's own
refusals (unknown route, wrong method, body over the limit) that would otherwise reach the client
as plain text. ``timing`` sits outside it so it sees the final status, and labels the histogram
with the route's template (``/api/admin/players/{id}``), never the raw path, so the number of
series stays bounded whatever paths clients invent. Between them ``shed_requests``
(``server/address_load.py``) counts each request under its client address and refuses those of
an address shed in an overload.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import Histogram

from engine.errors import GameError, InvalidRequest, NotFound
from server.address_load import shed_requests
from server.errors import (
    Forbidden,
    InternalError,
    MethodNotAllowed,
    Unauthorized,
    UnsupportedMediaType,
    http_error,
)
from server.keys import METRICS
from server.request_body import too_large

log = logging.getLogger("ctb.http")

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    """aiohttp's own 4xx/5xx, in the SPEC's error shape."""
    if isinstance(exc, web.HTTPMethodNotAllowed):
        response = http_error(
            MethodNotAllowed(
                f"{exc.method} is not allowed here",
                {"allowed": sorted(exc.allowed_methods)},
            )
        )
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return response
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return http_error(too_large())
    error: GameError
    if isinstance(exc, web.HTTPNotFound):
        error = NotFound("no such route", {"path": request.path})
    elif isinstance(exc, web.HTTPUnauthorized):
        error = Unauthorized(exc.reason)
    elif isinstance(exc, web.HTTPForbidden):
        error = Forbidden(exc.reason)
    elif isinstance(exc, web.HTTPUnsupportedMediaType):
        error = UnsupportedMediaType(exc.reason)
    elif exc.status >= 500:
        error = InternalError(exc.reason)
    else:
        error = InvalidRequest(exc.reason)
    response = http_error(error)
    response.set_status(exc.status, exc.reason)
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GameError as error:
        return http_error(error)
    except web.HTTPException as exc:
        if exc.status < 400:  # redirects and 304 pass through untouched
            raise
        return _from_http_exception(request, exc)
    except ConnectionResetError:
        # The connection closed while the body was read: the client left, or the server cut a
        # body too slow to arrive (BODY_TIMEOUT, server/listener.py). No fault of ours, and
        # nobody is there to read a reply; aiohttp drops this one quietly.
        log.debug(
            "connection lost during the request",
            extra={"event": "request_lost", "method": request.method, "path": request.path},
        )
        return http_error(InvalidRequest("the request was not received in full"))
    except Exception:
        log.exception(
            "request failed",
            extra={"event": "http_error", "method": request.method, "path": request.path},
        )
        return http_error(InternalError("the server failed on this request"))


def route_label(request: web.Request) -> str:
    """The route's template, so ``/api/x/1`` and ``/api/x/2`` count as one series."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


@dataclass(slots=True)
class Durations:
    """The request-duration histogram with its labelled series kept at hand.

    ``labels()`` takes a lock and builds a key on every call; the set of (method, route,
    status) is small and fixed by the routes, so each series is looked up once.
    """

    histogram: Histogram
    _series: dict[tuple[str, str, int], Any] = field(default_factory=dict)

    def series(self, method: str, route: str, status: int) -> Any:
        key = (method, route, status)
        found = self._series.get(key)
        if found is None:
            found = self._series[key] = self.histogram.labels(method, route, str(status))
        return found


DURATIONS = web.AppKey("http_durations", Durations)


def setup(app: web.Application) -> None:
    app[DURATIONS] = Durations(app[METRICS].http_request_duration_seconds)


@web.middleware
async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        # A WebSocket (101) lasts as long as its connection: that is no request duration.
        if status != 101:
            method = request.method if request.method in KNOWN_METHODS else "OTHER"
            series = request.app[DURATIONS].series(method, route_label(request), status)
            series.observe(time.perf_counter() - started)


# Outermost first: a shed address's request is refused before any other work (and timed).
MIDDLEWARES = [timing, shed_requests, errors]
