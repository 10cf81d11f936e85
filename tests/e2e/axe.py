"""Accessibility checks in the browser tests: axe-core run inside the page under test.

axe-core is pinned in ``tests/e2e/package.json`` and installed by ``make test`` (``npm ci``).
It is evaluated through the DevTools protocol, so the page's Content-Security-Policy (scripts
from its own origin only) stays as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"

RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(" ")),
    }));
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it is now (WCAG A/AA and best practices)."""
    if not AXE.exists():
        raise AssertionError(f"axe-core is missing at {AXE}: run `make test` (npm ci)")
    if not page.evaluate("() => typeof axe === 'object'"):
        page.evaluate(AXE.read_text())
    return page.evaluate(RUN)
