"""The web pages (SPEC §9): ``GET /`` the game, ``GET /admin`` the admin page, ``/static/*``.

Plain files from ``server/static`` with no build step; the admin page's own modules and
stylesheets are in ``server/static/admin`` (``/static/admin/*``), the files both pages share at
the top. The files found there at start-up are
read once and served from memory (an allow-list, so no directory listing and no path tricks;
an edited file is served after a restart), each with an explicit ``Content-Type``. Text files
go gzip-compressed to clients that accept it (a page's scripts and styles are about a fifth of
their size then, which is what a phone on a slow network waits for). Names carry no content
hash, so every reply says ``Cache-Control: no-cache``: browsers keep the file but revalidate
it, and an unchanged file costs a 304 (a weak ``ETag`` from the content's hash). A strict
Content-Security-Policy allows only this origin's scripts, styles and connections (the WebSocket
included).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from engine.errors import NotFound
from server import conditional
from server.errors import http_error

STATIC_DIR = Path(__file__).parent / "static"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)

HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

PAGE_HEADERS = {**HEADERS, "Content-Security-Policy": CSP, "X-Frame-Options": "DENY"}


COMPRESSIBLE = frozenset({".html", ".js", ".css", ".svg", ".json", ".txt"})


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None  # None where compressing does not pay
    etag: str
    content_type: str


ADMIN_DIR = "admin"  # the admin page's folder, served under /static/admin/


def static_files(directory: Path = STATIC_DIR) -> dict[str, Path]:
    """The servable files: regular files with a known type, at the top by name and in the
    admin page's folder as ``admin/<name>``."""
    found: dict[str, Path] = {}
    for folder, prefix in ((directory, ""), (directory / ADMIN_DIR, ADMIN_DIR + "/")):
        if folder.is_dir():
            found.update(
                (prefix + path.name, path)
                for path in sorted(folder.iterdir())
                if path.is_file() and not path.name.startswith(".") and path.suffix in CONTENT_TYPES
            )
    return found


def load(path: Path) -> StaticFile:
    body = path.read_bytes()
    gzipped = gzip.compress(body, 9, mtime=0) if path.suffix in COMPRESSIBLE else None
    if gzipped is not None and len(gzipped) >= len(body):
        gzipped = None
    tag = 'W/"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return StaticFile(body, gzipped, tag, CONTENT_TYPES[path.suffix])


def reply(request: web.Request, file: StaticFile, headers: dict[str, str]) -> web.Response:
    """The file, gzipped when the client takes it, or 304 when the client holds it already."""
    common = {**headers, "ETag": file.etag, "Vary": "Accept-Encoding"}
    if conditional.not_modified(request, file.etag):
        return web.Response(status=304, headers=common)
    accepts = request.headers.get("Accept-Encoding", "").lower()
    if file.gzipped is not None and "gzip" in accepts:
        common["Content-Encoding"] = "gzip"
        body = file.gzipped
    else:
        body = file.body
    return web.Response(body=body, headers={**common, "Content-Type": file.content_type})


def setup(app: web.Application, directory: Path = STATIC_DIR) -> None:
    files = {name: load(path) for name, path in static_files(directory).items()}

    def page(name: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return reply(request, files[name], PAGE_HEADERS)

        return handler

    async def static(request: web.Request) -> web.StreamResponse:
        folder = ADMIN_DIR + "/" if request.match_info.route.name == "static_admin" else ""
        file = files.get(folder + request.match_info["name"])
        if file is None:
            return http_error(NotFound("no such file"))
        headers = PAGE_HEADERS if file.content_type.startswith("text/html") else HEADERS
        return reply(request, file, headers)

    app.router.add_get("/", page("index.html"), name="game_page")
    app.router.add_get("/admin", page(ADMIN_DIR + "/admin.html"), name="admin_page")
    app.router.add_get("/static/{name}", static, name="static")
    app.router.add_get("/static/admin/{name}", static, name="static_admin")
