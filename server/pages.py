"""The web pages (SPEC §9): ``GET /`` the game, ``GET /admin`` the admin page, ``/static/*``.

Plain files from ``server/static`` with no build step. Only the files found there at start-up
are served (an allow-list, so no directory listing and no path tricks), each with an explicit
``Content-Type``. Names carry no content hash, so every reply says ``Cache-Control: no-cache``:
browsers keep the file but revalidate it, and an unchanged file costs a 304 (``ETag`` and
``Last-Modified`` come from ``FileResponse``). A strict Content-Security-Policy allows only
this origin's scripts, styles and connections (the WebSocket included).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from engine.errors import NotFound
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


def static_files(directory: Path = STATIC_DIR) -> dict[str, Path]:
    """The servable files: regular top-level files with a known type, by name."""
    return {
        path.name: path
        for path in sorted(directory.iterdir())
        if path.is_file() and not path.name.startswith(".") and path.suffix in CONTENT_TYPES
    }


def _file(path: Path, headers: dict[str, str]) -> web.FileResponse:
    return web.FileResponse(path, headers={**headers, "Content-Type": CONTENT_TYPES[path.suffix]})


def setup(app: web.Application, directory: Path = STATIC_DIR) -> None:
    files = static_files(directory)

    def page(name: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return _file(files[name], PAGE_HEADERS)

        return handler

    async def static(request: web.Request) -> web.StreamResponse:
        path = files.get(request.match_info["name"])
        if path is None:
            return http_error(NotFound("no such file"))
        headers = PAGE_HEADERS if path.suffix == ".html" else HEADERS
        return _file(path, headers)

    app.router.add_get("/", page("index.html"), name="game_page")
    app.router.add_get("/admin", page("admin.html"), name="admin_page")
    app.router.add_get("/static/{name}", static, name="static")
