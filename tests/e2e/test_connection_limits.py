"""One client cannot hold the server's memory or descriptors: real processes, raw sockets."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import resource
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator

import psutil
import pytest

from tests.e2e.conftest import ServerProcess

DEADLINE = 20.0  # seconds to wait for the server to act; the test polls, it never sleeps this


def until(check: Callable[[], bool], timeout: float = DEADLINE, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout} s: {what}")
        time.sleep(0.05)


def metrics(server: ServerProcess) -> dict[str, float]:
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def post(server: ServerProcess, path: str, token: str | None = None) -> dict[str, object]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(server.url + path, b"{}", headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def ws_token(server: ServerProcess) -> str:
    session = post(server, "/api/session")
    return str(post(server, "/api/ws-token", str(session["token"]))["token"])


def raw_ws(server: ServerProcess, token: str) -> socket.socket:
    """A WebSocket on a plain socket with a 4 KiB receive buffer that will never be read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws?token={token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    sock.settimeout(5)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # byte by byte: nothing after the head is taken off the socket
    assert head.startswith(b"HTTP/1.1 101"), head
    sock.setblocking(False)
    return sock


RESYNC = bytes([0x81, 0x80 | 17]) + b"\0\0\0\0" + b'{"type":"resync"}'


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed this connection (EOF, reset, or a refusal then EOF)."""
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return not data or closed_by_server(sock)


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def test_sockets_that_never_read_are_dropped_and_memory_stays_bounded(
    server_process: ServerProcess, sockets: list[socket.socket]
) -> None:
    """Sockets of one player that ask for resyncs and never read are closed; RSS stays low."""
    server_process.start()
    # proc is None only before start().
    rss = psutil.Process(server_process.proc.pid).memory_info  # type: ignore[union-attr]
    before = rss().rss
    token = ws_token(server_process)
    sockets.extend(raw_ws(server_process, token) for _ in range(30))
    peak = before
    deadline = time.monotonic() + DEADLINE
    while metrics(server_process).get("ws_connections_active", 0) > 0:
        assert time.monotonic() < deadline, "sockets that never read were not dropped"
        for sock in sockets:
            for _ in range(50):
                try:
                    sock.send(RESYNC)
                except OSError:  # full (the server stopped reading) or closed
                    break
        peak = max(peak, rss().rss)
    # 30 sockets held to 1 MiB each and then closed: far below the 200+ MiB they took before.
    assert peak - before < 64 * 1024 * 1024, f"RSS grew by {(peak - before) >> 20} MiB"
    counted = metrics(server_process)
    dropped = sum(v for k, v in counted.items() if k.startswith("ws_disconnect_total"))
    assert dropped == 30


def test_one_address_cannot_hold_every_connection(
    server_process: ServerProcess, sockets: list[socket.socket]
) -> None:
    """Over the per-address cap, connections are refused with 429; other addresses still get in."""
    server_process.env.update(MAX_CONNECTIONS_PER_ADDRESS="40", HEADER_TIMEOUT="60")
    server_process.start()
    for _ in range(100):
        sock = socket.create_connection(("127.0.0.1", server_process.port))
        sock.setblocking(False)
        sockets.append(sock)
    until(lambda: sum(closed_by_server(s) for s in sockets) >= 60, what="60 refused")
    assert sum(closed_by_server(s) for s in sockets) == 60
    with socket.create_connection(("127.0.0.1", server_process.port)) as extra:
        extra.settimeout(5)
        reply = b""
        while chunk := extra.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 429"), reply
    body = json.loads(reply.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "rate_limited"
    # Another address (the whole of 127/8 is loopback) is not refused.
    with socket.create_connection(
        ("127.0.0.1", server_process.port), source_address=("127.0.0.2", 0)
    ) as other:
        other.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        other.settimeout(5)
        assert other.recv(64).startswith(b"HTTP/1.1 200")
    assert '"reason":"per_address"' in server_process.log()


def test_connections_that_never_finish_their_headers_are_closed(
    server_process: ServerProcess, sockets: list[socket.socket]
) -> None:
    """Slowloris: a request head still unfinished after HEADER_TIMEOUT closes the connection."""
    server_process.env.update(HEADER_TIMEOUT="1")
    server_process.start()
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", server_process.port))
        sock.sendall(b"GET /readyz HTTP/1.1\r\n")
        sock.setblocking(False)
        sockets.append(sock)

    def all_closed() -> bool:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.send(b"X")  # one more byte of headers, as slowloris does
        return all(closed_by_server(s) for s in sockets)

    until(all_closed, timeout=15.0, what="every slow connection closed")
    # A client that sends its request in time is served.
    with socket.create_connection(("127.0.0.1", server_process.port)) as sock:
        sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(64).startswith(b"HTTP/1.1 200")


def log_event(server: ServerProcess, event: str) -> dict[str, object]:
    """The first log line of ``event``."""
    for line in server.log().splitlines():
        if line.startswith("{") and f'"event":"{event}"' in line:
            return dict(json.loads(line))
    raise AssertionError(f"no {event} line in the log")


def test_start_up_raises_the_descriptor_limit(server_process: ServerProcess) -> None:
    """The soft RLIMIT_NOFILE is raised to the hard one, and the start-up log says what the
    process got and the connection budget that leaves."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(256, hard)
    server_process.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    server_process.start()
    # proc is None only before start().
    limits = psutil.Process(server_process.proc.pid).rlimit(psutil.RLIMIT_NOFILE)  # type: ignore[union-attr]
    assert limits == (hard, hard)
    logged = log_event(server_process, "descriptor_limit")
    assert (logged["soft_before"], logged["soft"], logged["hard"]) == (low, hard, hard)
    assert logged["connection_budget"] == hard - min(1000, hard // 4)


def test_a_server_out_of_descriptors_refuses_in_the_error_shape_and_says_so(
    server_process: ServerProcess, sockets: list[socket.socket]
) -> None:
    """With the budget held by WebSockets (never closed to make room), new connections get
    503 and a log line, and service resumes once they close."""
    server_process.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))
    server_process.env.update(WS_MAX_PER_PLAYER="1000")
    server_process.start()
    token = ws_token(server_process)
    budget = int(log_event(server_process, "descriptor_limit")["connection_budget"])
    sockets.extend(raw_ws(server_process, token) for _ in range(budget))
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", server_process.port))
        sock.setblocking(False)
        sockets.append(sock)
    until(lambda: "server_full" in server_process.log(), what="a server_full log line")

    def first_bytes(sock: socket.socket) -> bytes:
        try:
            return sock.recv(4096)
        except OSError:
            return b""

    until(lambda: any(first_bytes(s).startswith(b"HTTP/1.1 503") for s in sockets[-20:]))
    for sock in sockets:
        sock.close()
    sockets.clear()

    def served() -> bool:
        try:
            with urllib.request.urlopen(server_process.url + "/readyz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    until(served, what="served again once the connections closed")


def test_a_body_trickled_one_byte_every_2_s_is_cut_within_30_s(
    server_process: ServerProcess, sockets: list[socket.socket]
) -> None:
    """A whole head announcing 60,000 bytes, then a byte every 2 s: the connection is closed
    (BODY_TIMEOUT, default settings) well before the body could ever be complete."""
    server_process.start()
    sock = socket.create_connection(("127.0.0.1", server_process.port))
    sockets.append(sock)
    sock.sendall(
        b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 60000\r\n\r\n"
    )
    sock.settimeout(2.0)
    started = time.monotonic()
    cut = False
    while not cut and time.monotonic() - started < 30.0:
        try:
            sock.sendall(b" ")
            cut = sock.recv(4096) == b""
        except TimeoutError:
            continue  # nothing from the server in 2 s: send the next byte
        except OSError:
            cut = True
    log = server_process.log
    assert cut, f"a body trickled a byte every 2 s was still read after 30 s:\n{log()}"
    until(lambda: '"reason":"body_timeout"' in log(), what="a body_timeout line")
    assert '"event":"http_error"' not in log(), log()  # a cut body is no server error
    with socket.create_connection(("127.0.0.1", server_process.port)) as other:
        other.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        other.settimeout(5)
        assert other.recv(64).startswith(b"HTTP/1.1 200")


def test_idle_connections_from_many_addresses_make_room_for_new_players(
    server_process: ServerProcess, sockets: list[socket.socket]
) -> None:
    """The budget full of idle connections from 25 addresses (each under its cap): new players'
    connections close the oldest idle ones instead of getting 503, and every session is made."""
    server_process.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300))
    server_process.env.update(HEADER_TIMEOUT="300", SESSIONS_PER_MINUTE="1000")
    server_process.start()
    budget = int(log_event(server_process, "descriptor_limit")["connection_budget"])
    for i in range(budget + 25):  # more than the budget: the latest push out the oldest
        source = f"127.0.1.{10 + i % 25}"
        sock = socket.create_connection(("127.0.0.1", server_process.port), 5, (source, 0))
        sock.setblocking(False)
        sockets.append(sock)
    until(lambda: sum(closed_by_server(s) for s in sockets) >= 25, what="25 idle ones closed")
    made = 0
    for _ in range(30):
        made += "token" in post(server_process, "/api/session")
    assert made == 30
    first = next(s for s in sockets if closed_by_server(s))
    assert first is sockets[0]  # the oldest went first
    assert '"reason":"evicted_unused"' in server_process.log()
    assert '"reason":"server_full"' not in server_process.log()
