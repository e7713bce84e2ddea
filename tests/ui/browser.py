"""Browser helpers every UI test module shares: a context that fails the test on any Content-Security-Policy
violation, signing in through the login page, full-page screenshots.

One copy, so that a change to the login page or to how CSP reports show up is made in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .conftest import UiServer

VIEWPORT = {"width": 1440, "height": 900}
CSP_REPORT = "Content Security Policy"


def watch_csp(target: Any, violations: list[str]) -> None:
    """Collect the CSP violations that ``target`` (a browser context or a page) reports on its console."""
    target.on("console", lambda msg: violations.append(msg.text) if CSP_REPORT in msg.text else None)


@contextmanager
def csp_checked_context(browser: Any, viewport: dict[str, int] | None = None,
                        locale: str | None = "zh-CN") -> Iterator[Any]:
    """A browser context, closed after; any CSP violation on its pages fails the test."""
    options: dict[str, Any] = {"viewport": viewport or VIEWPORT}
    if locale is not None:
        options["locale"] = locale
    ctx = browser.new_context(**options)
    violations: list[str] = []
    watch_csp(ctx, violations)
    try:
        yield ctx
    finally:
        ctx.close()
    assert not violations, violations


def sign_in(context: Any, server: UiServer, name: str, lang: str = "zh") -> Any:
    """A new page of ``context``, signed in as ``name`` through the login page (in ``lang``)."""
    page = context.new_page()
    page.goto(f"{server.url}/ui/login?lang={lang}")
    page.get_by_label("用户名" if lang == "zh" else "User name").fill(name)
    page.get_by_label("密码" if lang == "zh" else "Password", exact=True).fill(server.passwords[name])
    page.locator("#signin").click()
    page.wait_for_url(lambda url: "/ui/login" not in url)
    return page


def shot(page: Any, folder: Path, name: str) -> None:
    """A full-page screenshot ``folder/name.png``, once the page is idle, from the top."""
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
