"""The viewer in a real browser: Debian's headless Chromium, driven by Selenium through
chromedriver, opens the site from file:// and is clicked through from the problem list to a
trajectory. In CI (``CI`` set; ``.ci/run`` installs ``chromium`` and ``chromium-driver``) a
missing browser fails these tests; elsewhere they skip and say why."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from viewer_data import ViewerRun, hidden_only_lines

from codemend.viewer import Site

pytest_plugins = ["viewer_fixtures"]
pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1400",
)


def _find(*names: str) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, driver = _find("chromium", "chromium-browser"), _find("chromedriver")
    if chromium is None or driver is None:
        reason = "no headless browser: install Debian's chromium and chromium-driver (apt-get install -y ...)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the viewer's browser tests")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="codemend-chromium-")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=Service(driver))
    try:
        yield session
    finally:
        session.quit()
        shutil.rmtree(profile, ignore_errors=True)


def css(browser: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(browser.find_elements(By.CSS_SELECTOR, selector))


def text(browser: Any, selector: str) -> str:
    """The textContent of every match, collapsed or not."""
    return "\n".join(
        browser.execute_script("return arguments[0].textContent", e) for e in css(browser, selector)
    )


def open_index(browser: Any, site: Site) -> None:
    browser.get(site.index.resolve().as_uri())
    assert css(browser, "#problem-list tr.row"), "the problem list did not render"


def test_click_from_the_list_to_a_repaired_trajectory(
    browser: Any, viewer_site: Site, tmp_path: Path
) -> None:
    open_index(browser, viewer_site)
    css(browser, '[data-filter="fixed"]')[0].click()
    rows = css(browser, "#problem-list tr.row")
    assert [r.get_attribute("data-id") for r in rows] == ["HumanEval/2"]
    css(browser, "#problem-list a.problem-link")[0].click()
    assert browser.title.startswith("HumanEval/2")
    diff = css(browser, "#step-1 pre.diff")[0]
    added = [e.get_attribute("textContent") for e in diff.find_elements("css selector", ".d-add")]
    removed = [e.get_attribute("textContent") for e in diff.find_elements("css selector", ".d-del")]
    assert added == ["+    return number % 1.0"] and "-    return None" in removed
    failing = css(browser, "#step-0 table.tests.visible tbody tr")
    cells = [c.text for c in failing[0].find_elements("css selector", "td")]
    assert cells[1] == "failed" and cells[3:6] == ["truncate_number(3.5)", "0.5", "None"]
    assert (
        text(browser, "#step-0 .reward-value") == "0.000"
        and text(browser, "#step-1 .reward-value") == "1.000"
    )
    assert "Feedback sent to the model (in step 1's prompt)" in text(browser, "#step-0 .critique")
    assert css(browser, "#step-0 details.messages")[0].get_attribute("open") is None  # collapsed
    assert "never shown to the model" in text(browser, "#hidden-result h2")
    assert "passes" in text(browser, "#hidden-result .hidden-verdict")
    shot = tmp_path / "trajectory.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_search_filters_and_the_infrastructure_list(browser: Any, viewer_site: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    open_index(browser, viewer_site)
    assert len(css(browser, "#problem-list tr.row")) == 5
    css(browser, "#search")[0].send_keys("humaneval/1")
    assert [r.get_attribute("data-id") for r in css(browser, "#problem-list tr.row")] == ["HumanEval/1"]
    assert text(browser, "#list-count").startswith("1 of 5 trajectories")
    css(browser, "#search")[0].send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)  # an input event, unlike clear()
    css(browser, '[data-filter="infra"]')[0].click()
    browser.refresh()  # the filter is kept in the URL
    assert [r.get_attribute("data-id") for r in css(browser, "#problem-list tr.row")] == ["HumanEval/4"]
    assert "HTTP 500" in text(browser, "#infra")
    css(browser, '[data-filter="solved"]')[0].click()
    solved = [r.get_attribute("data-id") for r in css(browser, "#problem-list tr.row")]
    assert solved == ["HumanEval/2", "HumanEval/3"]
    browser.save_screenshot(str(tmp_path / "index.png"))


def test_no_hidden_test_in_what_the_model_saw(browser: Any, viewer_site: Site, viewer_run: ViewerRun) -> None:
    open_index(browser, viewer_site)
    links = {r.get_attribute("data-id"): r.find_element("css selector", "a").get_attribute("href")
             for r in css(browser, "#problem-list tr.row")}  # fmt: skip
    checked = 0
    for problem in viewer_run.problems[:4]:  # HumanEval/4 never got to the hidden tests
        browser.get(links[problem.id])
        saw = (
            text(browser, ".model-saw") + text(browser, ".model-said") + text(browser, "table.tests.visible")
        )
        outside = browser.execute_script(
            "const c = document.body.cloneNode(true); c.querySelector('#hidden-result').remove();"
            " return c.textContent;"
        )
        hidden_panel = text(browser, "#hidden-result")
        lines = hidden_only_lines(problem)
        assert saw and lines
        assert [line for line in lines if line in saw or line in outside] == []
        assert all(line in hidden_panel for line in lines), problem.id
        checked += len(lines)
    assert checked > 10


def test_a_large_run_pages_the_list(browser: Any, viewer_run: ViewerRun, tmp_path: Path) -> None:
    from test_viewer import large_site

    site = large_site(viewer_run, tmp_path, 250)
    open_index(browser, site)
    assert len(css(browser, "#problem-list tr.row")) == 100
    assert text(browser, "#list-count") == "250 of 250 trajectories · page 1 of 3"
    css(browser, "#next-page")[0].click()
    ids = [r.get_attribute("data-id") for r in css(browser, "#problem-list tr.row")]
    assert ids[0] == "P/100" and len(ids) == 100
    css(browser, "#search")[0].send_keys("P/24")
    ids = [r.get_attribute("data-id") for r in css(browser, "#problem-list tr.row")]
    assert ids == ["P/24", *(f"P/{n}" for n in range(240, 250))]
