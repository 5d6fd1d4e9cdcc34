"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

The basemap is stubbed (a grey tile) so the tests need no network; screenshots go to
test-output/ for a person to look at.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told that this is deliberate (test code only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("GEOGRID_CHROMIUM", "/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
GREY_TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mN8+/ZtPQAJNAOx8Ju3WQAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs Debian's chromium.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


# Every page reports Content-Security-Policy violations to the test (the event fires in the
# page; the binding carries it out), so any browser test fails if its page breaks the policy.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__geogridCspViolation(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                               " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    violations: list[str] = []
    context.expose_binding("__geogridCspViolation", lambda source, text: violations.append(text))
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if (message.type == "error" and "Content Security Policy" in message.text)
            else None
        ),
    )
    page.route(
        "**/tile.openstreetmap.org/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=GREY_TILE),
    )
    yield page
    context.close()
    if violations:
        pytest.fail("The page broke its Content-Security-Policy:\n" + "\n".join(violations))


@pytest.fixture
def screenshot(page):
    OUTPUT.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = OUTPUT / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
