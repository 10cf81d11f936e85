"""The game page's JavaScript units under node's own test runner (``node --test tests/js/``).

The push scheduler, the click queue, the page's state and the backoff run there on a fake clock
and an in-memory localStorage; this test makes ``make test`` run them and shows their report when
one fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS_TESTS = ROOT / "tests" / "js"

pytestmark = pytest.mark.e2e


def test_the_pages_javascript_units_pass_under_node() -> None:
    """Every tests/js/*.test.mjs passes under ``node --test``."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("the JavaScript unit tests need node 20 or newer on the PATH")
    files = sorted(JS_TESTS.glob("*.test.mjs"))
    assert files, f"no *.test.mjs in {JS_TESTS}"
    result = subprocess.run(
        [node, "--test", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        # board_changes.test.mjs plays its games through this interpreter's engine.
        env={**os.environ, "CTB_PYTHON": sys.executable},
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    ran = re.search(r"^# tests (\d+)$", report, re.MULTILINE)
    assert ran is not None and int(ran.group(1)) > 0, report
    assert "# fail 0" in report, report
