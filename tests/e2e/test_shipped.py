"""The game as an operator gets it: the wheel installed into a fresh virtual environment, and the
one-file zipapp run by python3, each started in an empty folder outside the checkout.

Both come from one ``make dist`` per test run, into a temporary folder. Installing fetches the
dependencies as an operator's install does (pip's cache serves them after the first time).
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.cluster.conftest import Cluster
from tests.e2e.conftest import ROOT, ServerProcess, call
from tests.redis_server import RedisServer

pytestmark = pytest.mark.e2e

BUILD_TIMEOUT = 900.0
STATIC = ROOT / "server" / "static"
# python3 outside any virtual environment: Debian's /usr/bin/python3 where that is the Python
# the tests run on, else the installation .venv was made from. The zipapp's compiled
# dependencies are built for this version.
PYTHON3 = str(Path(sys.base_prefix) / "bin" / "python3")


@dataclass(frozen=True, slots=True)
class Program:
    """How an operator starts the shipped game: the command and what it needs in the environment."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def checked(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    """Run a step; a failure shows what it printed."""
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False, **options
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done


def setup_cfg_version() -> str:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config["metadata"]["version"]


def flags(help_text: str) -> set[str]:
    return set(re.findall(r"--[a-z][a-z-]*", help_text))


def get(server: ServerProcess, path: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``make dist`` once per run, into a temporary folder: the wheel and click-the-button.pyz."""
    out = tmp_path_factory.mktemp("dist")
    checked(["make", "--no-print-directory", "dist", f"DIST={out}"], cwd=ROOT)
    yield out
    shutil.rmtree(out)  # pytest keeps its last runs' folders; these are large


@pytest.fixture(scope="session")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Program]:
    """The wheel in a fresh virtual environment: its ``click-the-button`` command."""
    venv = tmp_path_factory.mktemp("venv")
    checked([PYTHON3, "-m", "venv", str(venv)])
    (wheel,) = dist.glob("click_the_button-*.whl")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    checked([*pip, "install", "--quiet", str(wheel)])
    yield Program([str(venv / "bin" / "click-the-button")])
    shutil.rmtree(venv)


@pytest.fixture(scope="session")
def zipapp(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Program]:
    """The one file, run by python3; it unpacks its dependencies under SHIV_ROOT on first use."""
    shiv_root = tmp_path_factory.mktemp("shiv")
    yield Program([PYTHON3, str(dist / "click-the-button.pyz")], {"SHIV_ROOT": str(shiv_root)})
    shutil.rmtree(shiv_root)


@pytest.fixture(params=["installed", "zipapp"])
def program(request: pytest.FixtureRequest) -> Program:
    return request.getfixturevalue(request.param)


@pytest.fixture
def shipped_server(program: Program, tmp_path: Path) -> Iterator[ServerProcess]:
    """The program, unstarted, in an empty folder, with no DATA_DIR, key or admin token set."""
    folder = tmp_path / "empty"
    folder.mkdir()
    server = ServerProcess(
        data_dir=folder / "data",
        command=program.argv,
        cwd=folder,
        # An hour between snapshots: the only one written is the final save at SIGTERM.
        args=["--snapshot-interval", "3600"],
        env={"DATA_DIR": None, "SECRET_KEY": None, "ADMIN_TOKEN": None, **program.env},
    )
    yield server
    server.stop()


def test_version_and_help_match_run_py(program: Program, tmp_path: Path) -> None:
    """``--version`` names the package's version and ``--help`` lists run.py's settings."""
    env = {**os.environ, **program.env}
    version = checked([*program.argv, "--version"], cwd=tmp_path, env=env).stdout
    assert re.fullmatch(rf"click-the-button(\.pyz)? {re.escape(setup_cfg_version())}\n", version)
    shipped = checked([*program.argv, "--help"], cwd=tmp_path, env=env).stdout
    checkout = checked([sys.executable, str(ROOT / "run.py"), "--help"], cwd=ROOT).stdout
    assert flags(shipped) == flags(checkout)
    assert {"--port", "--data-dir", "--trusted-proxies", "--version"} <= flags(shipped)
    # Nothing is read from the checkout: the shipped planets' default is the installed copy
    # (help wraps long paths, so the lines are joined first).
    assert str(ROOT) not in "".join(shipped.split())


def test_serves_the_game_from_an_empty_folder_and_saves_on_sigterm(
    shipped_server: ServerProcess,
) -> None:
    """Started in an empty folder, the program serves the pages, a session and a push, keeps its
    state in ./data, and on SIGTERM writes a snapshot there and exits 0."""
    server = shipped_server
    server.start()
    data = server.cwd / "data"

    assert get(server, "/readyz")[0] == 200
    for path, name in (("/", "index.html"), ("/admin", "admin/admin.html")):
        status, content_type, body = get(server, path)
        assert (status, content_type) == (200, "text/html; charset=utf-8")
        assert body == (STATIC / name).read_bytes()
    assert get(server, "/static/game.js")[2] == (STATIC / "game.js").read_bytes()

    session = call(server, "POST", "/api/session", {"name": "operator"})
    planets = json.loads((ROOT / "data" / "planets.json").read_text())
    assert session["player"]["planet"] in planets
    ack = call(
        server, "POST", "/api/push_clicks", {"batch_id": "first", "clicks": [3]}, session["token"]
    )
    assert (ack["accepted"], ack["score"], ack["duplicate"]) == (3, 3, False)
    assert (data / "admin.token").is_file() and not (data / "snapshot.bin").exists()

    assert server.kill(signal.SIGTERM, timeout=30) == 0, server.log()
    assert (data / "snapshot.bin").stat().st_size > 0


def test_role_all_starts_its_children_as_the_same_program(
    program: Program, redis_server: RedisServer, tmp_path: Path
) -> None:
    """With REDIS_URL and ROLE=all, the shipped program starts its engine and gateway as itself
    again (the same command or .pyz, ``--role`` appended), they serve, and SIGTERM ends all."""
    folder = tmp_path / "empty"
    folder.mkdir()
    cluster = Cluster(
        data_dir=folder / "data",
        redis_url=redis_server.url,
        gateways=1,
        env=program.env,
        command=program.argv,
        cwd=folder,
    )
    try:
        cluster.start()
        kids = cluster.children()
        for pid in kids:
            argv = psutil.Process(pid).cmdline()
            assert argv[1] == program.argv[-1]
            assert "--role" in argv
        assert cluster.proc is not None
        cluster.proc.send_signal(signal.SIGTERM)
        assert cluster.proc.wait(timeout=30) == 0
    finally:
        cluster.stop()
