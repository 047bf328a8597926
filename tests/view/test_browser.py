"""The viewer in a real browser: Debian's chromium and chromium-driver, driven by selenium.

Skipped, with the reason, where selenium, chromium or chromedriver is missing (.ci/run installs
them). With PILOTBENCH_SCREENSHOTS=DIR the pages are also saved as PNG files (docs/ holds them).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pilotbench.store import open_store
from pilotbench.store.records import new_attempt_id

from .helpers import XSS, ViewerThread, script_record

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install 'pilotbench[test]')")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or ("/usr/lib/chromium/chromedriver" if Path("/usr/lib/chromium/chromedriver").exists() else None)
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip("chromium and chromium-driver are not installed (.ci/run installs Debian's packages)", allow_module_level=True)

SHOTS = os.environ.get("PILOTBENCH_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="pilotbench-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000"):
        opts.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    try:
        driver = webdriver.Chrome(options=opts, service=service)
    except Exception as e:  # noqa: BLE001 - a browser that cannot start here is a skip, with its reason
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"chromium could not be started by chromedriver: {str(e).splitlines()[0]}")
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver: Any, seconds: float = 10) -> Any:
    return WebDriverWait(driver, seconds, poll_frequency=0.1)


def _shot(driver: Any, name: str) -> None:
    """With PILOTBENCH_SCREENSHOTS set: the page as a small PNG (a 64-colour palette when Pillow is there)."""
    if not SHOTS:
        return
    path = Path(SHOTS) / f"view-{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)


def test_report_cell_to_test_to_side_by_side(browser: Any, viewer: ViewerThread, view_db: Any) -> None:
    browser.get(viewer.url + "/results/prompt_sensitivity")
    _shot(browser, "results")
    # the cell "sim/weak x prompt type optimal": its count and the list behind it agree
    cell = browser.find_element(By.CSS_SELECTOR, "a[href*='model=sim%2Fweak'][href*='prompt_type=optimal']")
    shown_n = int(cell.text.split("/")[-1].rstrip(")"))
    cell.click()
    _wait(browser).until(EC.presence_of_element_located((By.ID, "tests")))
    assert "/tests?" in browser.current_url
    rows = browser.find_elements(By.CSS_SELECTOR, "#tests tbody tr")
    assert len(rows) == shown_n
    assert {r.find_elements(By.TAG_NAME, "td")[1].text for r in rows} == {"sim/weak"}
    assert {r.find_elements(By.TAG_NAME, "td")[2].text for r in rows} == {"optimal"}
    rows[0].find_element(By.CSS_SELECTOR, "a.test-link").click()
    _wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "section.turns")))
    assert "sim/weak" in browser.find_element(By.CSS_SELECTOR, "section.spec").text
    assert browser.find_elements(By.CSS_SELECTOR, ".turn"), "the conversation's turns are shown"
    assert browser.find_elements(By.CSS_SELECTOR, ".msg.role-system"), "the prompt is shown"
    # side by side with the other model on the same test
    browser.find_element(By.CSS_SELECTOR, "a.compare-model").click()
    _wait(browser).until(EC.presence_of_element_located((By.ID, "side-b")))
    a = browser.find_element(By.ID, "side-a").text
    b = browser.find_element(By.ID, "side-b").text
    assert "sim/weak" in a and "sim/strong" in b
    assert "model" in browser.find_element(By.TAG_NAME, "main").text.split("\n")[1]  # "differing in model"
    _shot(browser, "side-by-side")
    # a flawed plan: the injected flaw is highlighted in the prompt; then the score's explanation
    browser.get(viewer.url + "/tests?model=sim%2Fweak&prompt_type=flawed_sequence_disorder&status=done")
    browser.find_element(By.CSS_SELECTOR, "a.test-link").click()
    flaw = _wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "pre mark.flaw")))
    assert flaw.text.startswith("Step ")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", flaw)
    _shot(browser, "test-flaw")
    score = browser.find_element(By.CSS_SELECTOR, "section.score")
    assert "Required steps" in score.text and "error category" in score.text
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", score)
    _shot(browser, "test-score")


RAW_KEYS = ("pooled", "statistics", "sections", "paired", "reply_shapes", "_")


def test_results_open_on_the_headline(browser: Any, viewer: ViewerThread) -> None:
    """Per model: success, full, weighted with intervals and N, the conditions, a chart; each figure
    and bar opens the tests it counts; the section links are words."""
    browser.get(viewer.url + "/results")
    table = browser.find_element(By.ID, "headline-table")
    assert [h.text for h in table.find_elements(By.CSS_SELECTOR, "thead th")] == [
        "model", "N", "success", "full success", "weighted score"]
    rows = {r.find_element(By.TAG_NAME, "th").text: r for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")}
    weak = next(r for label, r in rows.items() if label.startswith("sim/weak"))
    cells = weak.find_elements(By.TAG_NAME, "td")
    n = int(cells[0].text)
    assert re.fullmatch(r"\d+% \[\d+% – \d+%\]", cells[1].text), cells[1].text  # success with its interval
    assert re.fullmatch(r"[01]\.\d\d \[[01]\.\d\d – [01]\.\d\d\]", cells[3].text), cells[3].text
    conditions = browser.find_element(By.ID, "headline-conditions").text
    for name in ("Suite version", "Tool success rates", "Difficulties", "Prompt types"):
        assert name in conditions
    links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#section-links a")]
    assert "Paired comparisons" in links and "Reply shapes" in links
    assert not [t for t in links if any(k in t for k in RAW_KEYS)], links
    bars = browser.find_elements(By.CSS_SELECTOR, "#headline-chart svg a.bar")
    assert len(bars) >= 6
    _shot(browser, "results")
    # the bar "sim/weak, optimal" opens exactly the tests it counts
    bar = next(b for b in bars if "sim%2Fweak" in b.get_dom_attribute("href") and "prompt_type=optimal" in b.get_dom_attribute("href"))
    bar_n = int(re.search(r"N=(\d+)", bar.find_element(By.TAG_NAME, "title").get_attribute("textContent")).group(1))
    browser.get(viewer.url + bar.get_dom_attribute("href"))
    got = browser.find_elements(By.CSS_SELECTOR, "#tests tbody tr")
    assert len(got) == bar_n and {r.find_elements(By.TAG_NAME, "td")[2].text for r in got} == {"optimal"}
    # the model's N opens its N done tests
    browser.get(viewer.url + "/results")
    browser.find_element(By.XPATH, "//table[@id='headline-table']//tr[th[starts-with(., 'sim/weak')]]/td[1]/a").click()
    _wait(browser).until(EC.presence_of_element_located((By.ID, "tests")))
    got = browser.find_elements(By.CSS_SELECTOR, "#tests tbody tr")
    assert len(got) == n and {r.find_elements(By.TAG_NAME, "td")[1].text for r in got} == {"sim/weak"}


def test_a_test_opens_on_its_outcome(browser: Any, viewer: ViewerThread, view_db: Any) -> None:
    with open_store(view_db[0], create=False) as store:
        aid, task, diff = store.query(
            "SELECT attempt_id, task_type, difficulty FROM results WHERE model='sim/weak' AND prompt_type='baseline' "
            "AND status='done' AND error_category IS NOT NULL ORDER BY rowid LIMIT 1")[0]
    browser.get(viewer.url + "/tests/" + aid)
    assert browser.title.startswith(f"{task} · {diff} · sim/weak · baseline")
    outcome = browser.find_element(By.ID, "outcome")
    assert outcome.location["y"] < 400, "the outcome is at the top"
    assert outcome.find_element(By.ID, "success-level").text in ("failure", "partial success")
    rule = outcome.find_element(By.ID, "category-rule").text
    assert len(rule) > 30 and not re.search(r"[A-Z]{2,}_[A-Z]|\(steps\)", rule), rule
    # the prompt and the tool schemas are folded; a click opens them
    system = browser.find_element(By.CSS_SELECTOR, "details.role-system")
    assert system.get_attribute("open") is None and not system.find_element(By.TAG_NAME, "pre").is_displayed()
    system.find_element(By.TAG_NAME, "summary").click()
    assert system.find_element(By.TAG_NAME, "pre").is_displayed()
    schemas = browser.find_element(By.ID, "tool-schemas")
    assert schemas.get_attribute("open") is None and "30 tools" in schemas.text
    # each turn says its time, inside the conversation
    turn = browser.find_element(By.CSS_SELECTOR, ".turn .turn-n")
    assert re.search(r"turn 1 · \d+\.\d s", turn.text), turn.text
    assert "tokens in" in browser.find_element(By.ID, "turns-summary").text
    _shot(browser, "test")


def test_wide_tables_scroll_inside_their_box(browser: Any, viewer: ViewerThread) -> None:
    browser.set_window_size(700, 900)
    try:
        browser.get(viewer.url + "/tests")
        box = browser.find_element(By.CSS_SELECTOR, "div.scroll:has(#tests)")
        assert browser.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth", box)
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"), "the page itself does not scroll sideways"
    finally:
        browser.set_window_size(1400, 1000)


def test_filter_the_list(browser: Any, viewer: ViewerThread) -> None:
    browser.get(viewer.url + "/tests")
    Select(browser.find_element(By.ID, "f-model")).select_by_visible_text("sim/strong")
    Select(browser.find_element(By.ID, "f-task_type")).select_by_visible_text("basic_task")
    browser.find_element(By.ID, "apply").click()
    _wait(browser).until(EC.url_contains("task_type=basic_task"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#tests tbody tr")
    assert rows and all(
        r.find_elements(By.TAG_NAME, "td")[1].text == "sim/strong" and r.find_elements(By.TAG_NAME, "td")[3].text == "basic_task"
        for r in rows
    )
    _wait(browser).until(lambda d: d.find_element(By.ID, "count").text.startswith(f"{len(rows)} matching"))
    # text anywhere in the conversation: a tool's error code is in results, never in a final answer
    browser.get(viewer.url + "/tests")
    browser.find_element(By.ID, "f-q").send_keys("INVALID_INPUT")
    browser.find_element(By.ID, "apply").click()
    _wait(browser).until(EC.url_contains("q=INVALID_INPUT"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#tests a.test-link")) > 2
    # free text in the final answer
    browser.get(viewer.url + "/tests")
    browser.find_element(By.ID, "f-answer").send_keys("pwned")
    browser.find_element(By.ID, "apply").click()
    _wait(browser).until(EC.url_contains("answer=pwned"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#tests tbody tr")
    found = {r.find_element(By.CSS_SELECTOR, "a.test-link").text for r in rows}
    assert found == {"xss0000000000000test", "err00000000000000000"}  # the two records whose answer has it
    browser.get(viewer.url + "/tests?model=sim%2Fstrong")
    _shot(browser, "tests")


def test_markup_in_a_reply_is_shown_as_text(browser: Any, viewer: ViewerThread, view_db: Any) -> None:
    browser.get(viewer.url + "/tests/" + view_db[1]["xss"])
    _wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "section.turns")))
    assert browser.execute_script("return window.__pwned === undefined")
    assert "pwned" not in browser.title
    texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "pre.assistant-text")]
    assert any(XSS in t for t in texts), texts


def test_a_running_run_updates_without_reload(browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    store = open_store(path)
    store.start_run("live-run", 10, {"argv": ["pilotbench", "run", "-m", "sim/strong"]})
    store.write([script_record("live-run")])
    reader = open_store(path, create=False)
    try:
        with ViewerThread(reader, poll_ms=200) as v:
            browser.get(v.url + "/runs/live-run")
            assert browser.find_element(By.ID, "run-done").text == "1"
            # the lanes and causes come from the run's rows, fetched by the page after it loads
            _wait(browser).until(lambda d: "...0000" in d.find_element(By.ID, "run-lanes").text)
            browser.execute_script("window.__same_page = true")
            more = []
            for i in range(3):
                r = script_record("live-run")
                r.attempt_id, r.test_id, r.finished_at = new_attempt_id(), f"live{i:016d}", time.time()
                more.append(r)
            err = script_record("live-run")
            err.attempt_id, err.test_id, err.status, err.success_level = new_attempt_id(), "liveerr", "error", None
            err.infra_error = "HTTP 503: overloaded"
            store.write(more + [err])
            store.record_lanes("live-run", {"openai/key-0": {"key": "...0000", "concurrency": 6, "declared_concurrency": 64,
                                                             "tpm": 2000000, "tpm_left": 15000}})
            _wait(browser).until(lambda d: d.find_element(By.ID, "run-done").text == "4")
            _wait(browser).until(lambda d: "2,000,000" in d.find_element(By.ID, "run-learnt").text)
            assert "15,000" in browser.find_element(By.ID, "run-learnt").text
            assert browser.find_element(By.ID, "run-errors").text == "1"
            assert "HTTP 503: overloaded" in browser.find_element(By.ID, "run-causes").text
            assert browser.find_element(By.ID, "run-progress-text").text == "50.0%"
            assert browser.execute_script("return window.__same_page === true"), "the page was not reloaded"
            _shot(browser, "run")
            # the runs list updates in place too
            browser.get(v.url + "/runs")
            row = "tr[data-run='live-run'] "
            assert browser.find_element(By.CSS_SELECTOR, row + "[data-field='done']").text == "4"
            browser.execute_script("window.__same_list = true")
            r = script_record("live-run")
            r.attempt_id, r.test_id = new_attempt_id(), "live-last"
            store.write([r])
            _wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, row + "[data-field='done']").text == "5")
            assert browser.find_element(By.CSS_SELECTOR, row + "[data-field='progress-text']").text == "60%"
            assert browser.execute_script("return window.__same_list === true")
            _shot(browser, "runs")
            browser.get(v.url + "/runs/live-run")
            store.finish_run("live-run", "finished")
            _wait(browser).until(lambda d: d.find_element(By.ID, "run-status").text == "finished")
    finally:
        reader.close()
        store.close()
