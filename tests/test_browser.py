"""Does report.html work in a real browser: every image loads, no console errors, fits a phone?

Headless Chromium driven by playwright (Debian's ``chromium`` package; playwright's
own browser download is not used).  Without a browser the tests skip and say why;
with ``CI`` set they fail instead, because CI installs one (bootstrap.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import metabridge as mb

#: Where Debian's chromium package puts the browser (playwright is pointed at it).
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
#: No network, no first-run work, no GPU: a quiet, deterministic headless browser.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}  # CSS pixels of a common phone in portrait


def _unavailable(reason: str) -> None:
    message = f"no headless browser: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI installs chromium through bootstrap.py)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A persistent Chromium context (fresh profile) at phone size."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"playwright is not installed ({exc}); pip install playwright")
    executable = next((p for p in CHROMIUM_PATHS if Path(p).exists()),
                      shutil.which("chromium"))
    if executable is None:
        _unavailable("chromium is not installed; as root: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as driver:
        try:
            context = driver.chromium.launch_persistent_context(
                profile, executable_path=executable, args=CHROMIUM_ARGS, headless=True,
                viewport=PHONE)
        except Exception as exc:  # the browser exists but cannot start here
            _unavailable(f"{executable} does not start: {exc}")
        yield context
        context.close()


def render(browser: Any, page_path: Path) -> dict[str, Any]:
    """Open a report; load every image; collect console errors and failed requests."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"failed: {req.url}"))
    page.goto(page_path.resolve().as_uri(), wait_until="load")
    images = page.evaluate("""() => Promise.all(Array.from(document.images).map(img => {
        img.loading = "eager";
        return img.decode().then(() => [img.getAttribute("src"), img.naturalWidth])
                           .catch(() => [img.getAttribute("src"), 0]);
    }))""")
    svgs = page.evaluate("""() => Promise.all(
        Array.from(document.querySelectorAll('a[href$=".svg"]')).map(a => {
            const img = new Image(); img.src = a.href;
            return img.decode().then(() => [a.getAttribute("href"), img.naturalWidth])
                               .catch(() => [a.getAttribute("href"), 0]);
        }))""")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    page.close()
    return {"images": images, "svgs": svgs, "errors": errors, "widths": widths}


def _check(shown: dict[str, Any], expected_images: int) -> None:
    assert shown["errors"] == []
    assert len(shown["images"]) == expected_images
    assert [src for src, width in shown["images"] if width == 0] == []
    assert len(shown["svgs"]) == expected_images
    assert [href for href, width in shown["svgs"] if width == 0] == []
    page_width, screen_width = shown["widths"]
    assert page_width <= screen_width  # wide tables scroll in their box, not the page


def test_any_data_report_in_a_browser(browser: Any, tmp_path: Path) -> None:
    mb.report(mb.datasets.bcg(), tmp_path, method="DL", backend="statsmodels", by=["alloc"],
              engines=["statsmodels"], formats=["html"])
    _check(render(browser, tmp_path / "report.html"), expected_images=4)


def test_reproduction_report_in_a_browser(browser: Any, reproduction_report: Path) -> None:
    _check(render(browser, reproduction_report / "report.html"), expected_images=13)
