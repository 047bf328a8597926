"""The viewer over HTTP and its queries: pagination, filters, escaping, errors, the static export."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import markupsafe
import pytest

from pilotbench.cli import main
from pilotbench.store import open_store
from pilotbench.store.records import new_attempt_id
from pilotbench.view.data import BadRequest, ViewData, error_cause, parse_filters
from pilotbench.view.pages import Links, Pages, render_choices

from .helpers import XSS, ViewerThread, script_record


def _rows(body: str) -> list[str]:
    return re.findall(r'<a class="test-link" href="/tests/([0-9a-f]+)">', body)


def test_pages_answer_and_carry_a_strict_policy(viewer: ViewerThread, view_db: Any) -> None:
    info = view_db[1]
    for path in ("/runs", f"/runs/{info['run']}", "/results", "/results/baseline", "/results/error_categories",
                 "/tests", f"/tests/{info['xss']}"):
        status, body, headers = viewer.get(path)
        assert status == 200, (path, body[:300])
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "<script>" not in body.replace('<script id="run-config" type="application/json">', "")
    status, _, _ = viewer.get("/")
    assert status == 200  # redirected to /runs


def test_a_run_page_leaves_its_row_figures_to_the_script(viewer: ViewerThread, view_db: Any) -> None:
    _, body, _ = viewer.get(f"/runs/{view_db[1]['run']}")
    assert "reading the run's rows" in body and 'src="/static/run.js"' in body
    run = viewer.json(f"/api/runs/{view_db[1]['run']}")
    assert run["lanes"] and run["causes"] == [{"cause": "gave up after N transient failures: HTTP 500: The server had an error", "n": 1}]


def test_markup_from_the_store_is_escaped(viewer: ViewerThread, view_db: Any) -> None:
    _, body, _ = viewer.get(f"/tests/{view_db[1]['xss']}")
    assert XSS not in body
    assert str(markupsafe.escape(XSS)) in body  # the reply, shown as text
    assert "&lt;b&gt;it&lt;/b&gt;" in body  # the prompt too


def test_errors_are_pages_not_tracebacks(viewer: ViewerThread) -> None:
    assert viewer.get("/tests/nosuchattempt")[0] == 404
    assert viewer.get("/runs/nosuchrun")[0] == 404
    assert viewer.get("/results/nosuchsection")[0] == 404
    status, body, _ = viewer.get("/tests?tool_success_rate=high")
    assert status == 400 and "tool_success_rate must be a number" in body
    status, body, _ = viewer.get("/tests?before=abc")
    assert status == 400 and "before must be a row number" in body
    assert viewer.get("/compare?a=x")[0] == 400
    assert viewer.get("/api/runs/nosuchrun")[0] == 404
    assert viewer.get("/static/../app.py")[0] == 404


def test_pages_of_the_list_cover_every_row_once(view_db: Any) -> None:
    with open_store(view_db[0], create=False) as store:
        data = ViewData(store)
        total = store.count()
        seen: list[str] = []
        page = data.tests_page({}, page_size=7)
        assert page.newer is None and page.count == total
        pages = [page]
        while page.older is not None:
            page = data.tests_page({}, before=page.older, page_size=7)
            pages.append(page)
        for p in pages:
            seen += [r["attempt_id"] for r in p.rows]
            rowids = [r["rowid"] for r in p.rows]
            assert rowids == sorted(rowids, reverse=True)  # newest first
        assert len(seen) == len(set(seen)) == total
        # and back: the page newer than the third is the second
        back = data.tests_page({}, after=pages[2].newer, page_size=7)
        assert [r["attempt_id"] for r in back.rows] == [r["attempt_id"] for r in pages[1].rows]


def test_filters_match_the_store(view_db: Any) -> None:
    with open_store(view_db[0], create=False) as store:
        data = ViewData(store)
        for filters, where, params in (
            ({"model": "sim/weak", "prompt_type": "optimal"}, "model=? AND prompt_type=?", ["sim/weak", "optimal"]),
            ({"tool_success_rate": "0.8", "task_type": "basic_task"}, "task_type=?", ["basic_task"]),
            ({"status": "error"}, "status='error'", []),
            ({"error_category": "-", "status": "done"}, "error_category IS NULL AND status='done'", []),
            ({"run_id": view_db[1]["calls_run"]}, "run_id=?", [view_db[1]["calls_run"]]),
        ):
            page = data.tests_page(parse_filters(filters), page_size=1000)
            assert page.count == len(page.rows) == store.count(where, params) > 0, filters
        assert data.distinct("model") == ["sim/medium", "sim/strong", "sim/weak"]
        assert set(data.distinct("run_id")) == {view_db[1]["run"], view_db[1]["calls_run"]}


def test_count_endpoint(viewer: ViewerThread, view_db: Any) -> None:
    with open_store(view_db[0], create=False) as store:
        expected = store.count("model=? AND status='done'", ["sim/weak"])
    assert viewer.json("/api/tests/count?model=sim%2Fweak&status=done") == {"count": expected, "cap": 1000}
    assert viewer.get("/api/tests/count?tool_success_rate=x")[0] == 400


def test_answer_search_reads_the_final_answer_only(view_db: Any) -> None:
    with open_store(view_db[0], create=False) as store:
        data = ViewData(store)
        page = data.tests_page(parse_filters({"answer": "PWNED"}))
        assert {r["test_id"] for r in page.rows} == {"xss0000000000000test", "err00000000000000000"}
        # "file_operations_reader" is in stored tool calls of many tests, but in no final answer but the two above
        assert {r["test_id"] for r in data.tests_page(parse_filters({"answer": "window.__pwned=1"})).rows} == {
            "xss0000000000000test", "err00000000000000000"}
        assert data.tests_page(parse_filters({"answer": "invalid_input"})).rows == []


def test_conversation_search_reads_the_stored_transcripts(view_db: Any) -> None:
    """`q` finds text anywhere in the stored conversation (tool results, the prompt), which the
    final-answer search cannot; the rows found are exactly those whose transcript holds it."""
    from pilotbench.store.transcripts import decode_transcript

    with open_store(view_db[0], create=False) as store:
        data = ViewData(store)
        rows = store.query("SELECT attempt_id, run_id, transcript FROM results")
        for needle in ("invalid_input", "You are a workflow agent"):
            want = set()
            for aid, _run, tr in rows:
                doc = decode_transcript(tr)
                if doc is not None and needle.lower() in json.dumps(doc["messages"], ensure_ascii=False).lower():
                    want.add(aid)
            got = {r["attempt_id"] for r in data.tests_page(parse_filters({"q": needle.upper()}), page_size=500).rows}
            assert want and got == want, needle
        # `--transcripts calls` keeps no prompt: those tests do not match the system prompt's words
        calls_run = {aid for aid, run, _ in rows if run == view_db[1]["calls_run"]}
        assert calls_run and not calls_run & got
        assert data.tests_page(parse_filters({"answer": "invalid_input"})).rows == []
        # the list page offers it, and says what it searched
        pages = Pages(data, Links())
        html_page = pages.tests(data.tests_page(parse_filters({"q": "invalid_input"}), count=False), render_choices(data))
        assert 'name="q"' in html_page and "conversation contains = <b>" not in html_page  # live: the form shows it
        assert 'value="invalid_input"' in html_page


def test_bad_filters_are_refused() -> None:
    with pytest.raises(BadRequest, match="between 0 and 1"):
        parse_filters({"tool_success_rate": "2"})
    assert parse_filters({"model": " ", "status": "done", "unknown": "x"}) == {"status": "done"}


def test_report_cells_link_to_exactly_their_tests(viewer: ViewerThread) -> None:
    """Every success-rate cell of the prompt-sensitivity table: the list behind the link has its n; and the
    baseline section's cells carry its conditions (the baseline prompt type) into their links."""
    _, body, _ = viewer.get("/results/prompt_sensitivity")
    cells = [c for c in re.findall(r'<a href="(/tests\?[^"]*prompt_type=[^"]*)">[0-9.]+% \((\d+)/(\d+)\)</a>', body)
             if "success_level=" not in c[0]]
    assert len(cells) >= 6
    _, baseline, _ = viewer.get("/results/baseline")
    links = re.findall(r'<a href="(/tests\?[^"]*)">', baseline)
    assert links and all("prompt_type=baseline" in html.unescape(h) for h in links)
    for href, _k, n in cells:
        _, page, _ = viewer.get(html.unescape(href))
        assert len(_rows(page)) == int(n), href
    # success-level cells count their level: k rows
    for href, k, _n in re.findall(r'<a href="(/tests\?[^"]*success_level=full_success[^"]*)">[0-9.]+% \((\d+)/(\d+)\)</a>', body):
        _, page, _ = viewer.get(html.unescape(href))
        assert len(_rows(page)) == int(k), href


def test_test_page_shows_turns_score_and_side_by_side(viewer: ViewerThread, view_db: Any) -> None:
    with open_store(view_db[0], create=False) as store:
        aid, = store.query("SELECT attempt_id FROM results WHERE model='sim/weak' AND prompt_type LIKE 'flawed_%' "
                           "AND status='done' ORDER BY rowid LIMIT 1")[0]
        turns = store.query("SELECT turns FROM results WHERE attempt_id=?", (aid,))[0][0]
    _, body, _ = viewer.get(f"/tests/{aid}")
    assert body.count('<div class="turn"') == turns
    assert '<mark class="flaw">' in body  # the injected flaw, highlighted in the plan
    assert "Required steps" in body
    compares = re.findall(r'class="compare-model" href="([^"]+)">sim/strong<', body)
    assert len(compares) == 1
    status, page, _ = viewer.get(html.unescape(compares[0]))
    assert status == 200 and 'id="side-a"' in page and 'id="side-b"' in page
    assert "differing in <b>model</b>" in page


def test_calls_mode_test_page_rebuilds_the_prompt(viewer: ViewerThread, view_db: Any) -> None:
    with open_store(view_db[0], create=False) as store:
        aid = store.query("SELECT attempt_id FROM results WHERE run_id=? LIMIT 1", (view_db[1]["calls_run"],))[0][0]
    _, body, _ = viewer.get(f"/tests/{aid}")
    assert "Rebuilt from the test" in body and 'class="msg role-system"' in body and '<div class="turn"' in body


def test_run_json_counts_and_updates_incrementally(tmp_path: Path) -> None:
    with open_store(tmp_path / "r.db") as store:
        store.start_run("r1", 4, {"argv": ["pilotbench", "run"]})
        rec = script_record("r1")
        rec.finished_at = 1000.0
        store.write([rec])
        now = [1010.0]
        data = ViewData(store, now=lambda: now[0])
        first = data.run("r1")
        assert first is not None and (first["done"], first["errors"], first["progress"]) == (1, 0, 0.25)
        assert first["lanes"][0]["key_label"] == "...0000" and first["lanes"][0]["state"] == "active"
        now[0] = 1100.0
        assert data.run("r1")["lanes"][0]["state"] == "idle"  # no result for 100 s
        err = script_record("r1")
        err.attempt_id, err.test_id, err.status = new_attempt_id(), "e1", "error"
        err.infra_error = "gave up after 6 transient failures: HTTP 500: request 9f8e7d6c5b4a"
        store.write([err])
        second = data.run("r1")
        assert (second["done"], second["errors"]) == (1, 1)
        assert second["causes"] == [{"cause": "gave up after N transient failures: HTTP 500: request #", "n": 1}]
        assert second["command"] == "pilotbench run"
        assert second["lanes"][0]["tests"] == 2 and second["lanes"][0]["errors"] == 1
        store.finish_run("r1", "finished")
        assert data.run("r1")["lanes"][0]["state"] == "finished"


def test_run_page_shows_the_limits_its_lanes_learnt(tmp_path: Path) -> None:
    with open_store(tmp_path / "r.db") as store:
        store.start_run("r1", 4, {"argv": ["pilotbench", "run"]})
        store.write([script_record("r1")])
        store.record_lanes("r1", {"openai/key-0": {"key": "...0000", "concurrency": 5, "declared_concurrency": 32,
                                                   "rpm": 450, "rpm_left": 12, "tpm": 30000, "tpm_left": "<b>x</b>"}})
        run = ViewData(store).run("r1")
        assert run is not None and run["learnt"] == [{"lane": "openai/key-0", "key_label": "...0000", "concurrency": 5,
                                                      "declared_concurrency": 32, "rpm": 450, "rpm_left": 12,
                                                      "tpm": 30000, "tpm_left": None}]
        with ViewerThread(store) as v:
            status, body, _ = v.get("/runs/r1")
        assert status == 200 and 'id="run-learnt"' in body
        row = body.split('id="run-learnt"', 1)[1].split("</table>", 1)[0]
        assert "openai/key-0" in row and "450" in row and "30,000" in row and "<b>x</b>" not in row


def test_the_viewer_renders_the_reports_table_model(viewer: ViewerThread, view_db: Any) -> None:
    """A section page shows the report's own tables (the table model, as Markdown shows them: same
    captions, columns and rows), each figure written the viewer's way and linked to its tests."""
    from pilotbench.reports.render.model import KINDS, Cell, Table, tables as model_tables
    from pilotbench.view.report_tables import section_view

    with open_store(view_db[0], create=False) as store:
        rep = ViewData(store).report()
    model = next(s for s in model_tables(rep) if s.id == "prompt_sensitivity")
    shown = section_view(rep, "prompt_sensitivity", Links())
    assert shown is not None
    tables, note = shown
    assert note == model.note and [t.caption for t in tables] == [t.caption for t in model.tables]
    assert [t.headers for t in tables] == [t.headers for t in model.tables]
    assert all(isinstance(t, Table) for t in tables)
    rates = 0
    for t in tables:
        for i, col in enumerate(t.columns):
            assert col.kind in KINDS
            for row in t.rows:
                assert isinstance(row[i], Cell)
                if col.kind == "rate" and row[i].text != "–":
                    assert re.fullmatch(r"[0-9.]+% \(\d+/\d+\)", row[i].text) and row[i].href, row[i]
                    rates += 1
    assert rates >= 6
    _, body, _ = viewer.get("/results/prompt_sensitivity")
    for t in model.tables:
        assert f"<caption>{html.escape(t.caption)}</caption>" in body


def test_the_headline_breakdowns_are_the_reports_own_tables(viewer: ViewerThread, view_db: Any) -> None:
    """The Results page's breakdowns are the report's headline tables (same caption, columns and rows
    as Markdown's), each rate written as the viewer writes it and linked to exactly its N tests."""
    from pilotbench.reports.render.model import headline_section
    from pilotbench.view.headline import headline_view

    with open_store(view_db[0], create=False) as store:
        rep = ViewData(store).report()
    model = headline_section(rep).tables[1:]
    shown = [b["table"] for b in headline_view(rep, Links())["breakdowns"]]
    assert [t.caption for t in shown] == [t.caption for t in model] == ["Success by prompt type", "Success by difficulty"]
    assert [t.headers for t in shown] == [t.headers for t in model]
    assert [[r[0].text for r in t.rows] for t in shown] == [[r[0].text for r in t.rows] for t in model]
    checked = 0
    for t in shown:
        for row in t.rows:
            for cell in row[1:]:
                m = re.fullmatch(r"\d+% \(N=(\d+)\)", cell.text)
                if m and checked < 6:
                    _, page, _ = viewer.get(cell.href)
                    assert len(_rows(page)) == int(m.group(1)), cell
                    checked += 1
    assert checked == 6


def test_the_headline_rows_are_the_reports_first_table_linked_to_their_tests(viewer: ViewerThread, view_db: Any) -> None:
    """The per-model rows at the top of the Results page are the report's first headline table: the
    same models in the same order, N as the table has it, and each figure linked to exactly the tests
    it counts (N done tests; the Full figure's tests are that row's full successes)."""
    from pilotbench.reports.render.model import headline_section
    from pilotbench.view.headline import headline_view

    with open_store(view_db[0], create=False) as store:
        rep = ViewData(store).report()
    table = headline_section(rep).tables[0]
    rows = headline_view(rep, Links())["rows"]
    assert [r["label"] for r in rows] == [r[0].text for r in table.rows] and rows
    for row, model_row in zip(rows, table.rows):
        assert row["n"] == model_row[1].value
        _, page, _ = viewer.get(row["n_href"])
        assert len(_rows(page)) == row["n"]
        success, full, weighted = row["cells"]
        assert success["href"] == weighted["href"] == row["n_href"]
        _, page, _ = viewer.get(full["href"])
        assert len(_rows(page)) == round(model_row[4].value["rate"] * row["n"])


def test_error_cause_keeps_statuses_and_blanks_ids() -> None:
    assert error_cause("HTTP 429: slow down\ntrace") == "HTTP 429: slow down"
    assert error_cause("timeout after 30000 ms, request 0a1b2c3d4e") == "timeout after # ms, request #"
    assert error_cause("") == "unknown"


# Infrastructure errors as the runner writes them, and the cause each one is counted under.
_INFRA_ERRORS = {
    "gave up after 3 transient failures: HTTP 500: boom\nTraceback ...": "gave up after N transient failures: HTTP 500: boom",
    "gave up after 6 transient failures: HTTP 500: boom": "gave up after N transient failures: HTTP 500: boom",
    "gave up after 6 transient failures: HTTP 502: request 9f8e7d6c5b4a": "gave up after N transient failures: HTTP 502: request #",
    "still rate limited after 41 tries: HTTP 429: retry in 1.5 s": "still rate limited after N tries: HTTP 429: retry in # s",
    "context length exceeded: HTTP 400: request (6323 tokens) exceeds the available context size (5000 tokens)":
        "context length exceeded: HTTP 400: request (N tokens) exceeds the available context size (N tokens)",
    "model stopped: key ...4444 refused: HTTP 401 invalid api key": "model stopped: key ...# refused: HTTP 401 invalid api key",
    "request timed out after 30.0 s (on the first request of the conversation)":
        "request timed out after # s (on the first request of the conversation)",
    "HTTP 503: overloaded": "HTTP 503: overloaded",
}


def test_the_run_summary_and_the_viewer_count_infra_errors_under_the_same_causes(tmp_path: Path) -> None:
    from pilotbench.runner import outcome

    assert {msg: outcome.error_cause(msg) for msg in _INFRA_ERRORS} == _INFRA_ERRORS  # what the run summary counts
    with open_store(tmp_path / "r.db") as store:
        store.start_run("r1", len(_INFRA_ERRORS), {"argv": ["pilotbench", "run"]})
        records = []
        for i, msg in enumerate(_INFRA_ERRORS):
            rec = script_record("r1")
            rec.attempt_id, rec.test_id, rec.status, rec.infra_error = new_attempt_id(), f"e{i}", "error", msg
            records.append(rec)
        store.write(records)
        run = ViewData(store).run("r1")
    assert run is not None
    expected: dict[str, int] = {}
    for cause in _INFRA_ERRORS.values():
        expected[cause] = expected.get(cause, 0) + 1
    assert {c["cause"]: c["n"] for c in run["causes"]} == expected  # the viewer's run page: the same causes


def test_export_writes_linked_pages_without_broken_links(view_db: Any, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert main(["view", "--db", str(view_db[0]), "--export", str(out), "--max-pages", "60"]) == 0
    files = {p.name for p in out.iterdir()}
    assert {"index.html", "results.html", "tests.html", "view.css", "missing.html"} <= files
    assert len([f for f in files if f.endswith(".html")]) <= 61
    for f in out.glob("*.html"):
        text = f.read_text()
        assert XSS not in text
        for href in re.findall(r'href="([^"#?]+)"', text):
            assert href in files, (f.name, href)


def test_view_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["view", "--db", str(tmp_path / "none.db")]) == 2
    assert "no results database" in capsys.readouterr().err
    assert main(["view", "--port", "99999"]) == 2
    (tmp_path / "file").write_text("x")
    assert main(["view", "--db", str(tmp_path / "none.db"), "--export", str(tmp_path / "file" / "sub")]) == 2


def test_default_bind_is_local() -> None:
    from pilotbench.cli.view import view

    host = next(p for p in view.params if p.name == "host")
    assert host.default == "127.0.0.1"


@pytest.mark.parametrize("window", [10, 5_000])
def test_filtered_pages_cover_their_rows_once_either_way(view_db: Any, window: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A filtered page comes from the rows next to the cursor or, when they hold too few, from the
    planner's query: both ways, in both directions, every matching row exactly once, in order."""
    from pilotbench.view import data as data_mod

    monkeypatch.setattr(data_mod, "WINDOW", window)
    with open_store(view_db[0], create=False) as store:
        data = ViewData(store)
        f = parse_filters({"model": "sim/weak", "status": "done"})
        want = [r[0] for r in store.query("SELECT attempt_id FROM results WHERE model='sim/weak' AND status='done' ORDER BY rowid DESC")]
        pages = [data.tests_page(f, page_size=4)]
        while pages[-1].older is not None:
            pages.append(data.tests_page(f, before=pages[-1].older, page_size=4))
        assert [r["attempt_id"] for p in pages for r in p.rows] == want
        back = [pages[-1]]
        while back[-1].newer is not None:
            back.append(data.tests_page(f, after=back[-1].newer, page_size=4))
        assert [r["attempt_id"] for p in reversed(back) for r in p.rows][: len(want)] == want


def test_text_search_continues_where_its_scan_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows whose trajectory has the text only in a tool call pass the SQL filter but not the final
    answer's check; a page stops after TEXT_SCAN_LIMIT of them and the next goes on from there."""
    from pilotbench.view import data as data_mod

    monkeypatch.setattr(data_mod, "TEXT_SCAN_LIMIT", 5)
    monkeypatch.setattr(data_mod, "_FETCH", 5)
    recs = []
    for i in range(40):
        r = script_record("r1")
        r.attempt_id, r.test_id = new_attempt_id(), f"t{i:03d}"
        answer = "FINAL ANSWER: the Needle is here" if i % 9 == 0 else "FINAL ANSWER: nothing"
        r.trajectory = {"final_answer": answer, "calls": [{"name": "x", "arguments": {"p": "needle"}}]}
        recs.append(r)
    with open_store(tmp_path / "r.db") as store:
        store.write(recs)
        data = ViewData(store)
        f = parse_filters({"answer": "needle"})
        got: list[str] = []
        page = data.tests_page(f, page_size=2)
        stopped = 0
        while True:
            got += [r["test_id"] for r in page.rows]
            stopped += page.scanned_out
            if page.older is None:
                break
            page = data.tests_page(f, before=page.older, page_size=2)
        assert got == ["t036", "t027", "t018", "t009", "t000"]
        assert stopped > 0


def test_steps_are_explained_from_the_scorers_own_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a core whose scorer analyses a task graph, the page shows its verdict per step and why."""
    from types import SimpleNamespace

    from pilotbench.benchmark import scoring
    from pilotbench.view.pages import analysed_steps

    task = SimpleNamespace(steps=(SimpleNamespace(tool="reader", upstream=()), SimpleNamespace(tool="writer", upstream=(0,)),
                                  SimpleNamespace(tool="mailer", upstream=(1,))))
    calls = [
        {"turn": 1, "name": "writer", "arguments": {}, "success": False, "error_code": "INVALID_INPUT"},
        {"turn": 2, "name": "reader", "arguments": {}, "success": True},
        {"turn": 3, "name": "writer", "arguments": {}, "success": True},
        {"turn": 4, "name": "unknown", "arguments": {}, "success": False, "error_code": "NOT_FOUND"},
    ]
    monkeypatch.setattr(scoring, "analyse", lambda t, cs: SimpleNamespace(first_done=[1, None, None],
                                                                         feeds_ok=[False, True, False, None]), raising=False)
    steps = analysed_steps({"trajectory": {"calls": calls}}, task)
    assert steps is not None
    assert [s["done"] for s in steps] == [True, False, False]
    assert steps[0]["why"].startswith("done by call 2 (turn 2)")
    assert "called before step 1 was done" in steps[1]["why"]
    assert "refused for an argument" in steps[1]["why"]
    assert "succeeded on an input that is not its upstream step's output" in steps[1]["why"]
    assert steps[2]["why"] == "never called"
    monkeypatch.delattr(scoring, "analyse")
    assert analysed_steps({"trajectory": {"calls": calls}}, task) is None  # the simple explanation then


def test_view_command_serves_on_localhost_until_interrupted(view_db: Any) -> None:
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "pilotbench", "view", "--db", str(view_db[0]), "--port", "0"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        line = proc.stderr.readline()  # type: ignore[union-attr]
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line
        with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/runs", timeout=10) as r:
            assert r.status == 200 and view_db[1]["run"] in r.read().decode()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_an_empty_store_has_pages_too(tmp_path: Path) -> None:
    with open_store(tmp_path / "empty.db") as store, ViewerThread(store) as v:
        for path in ("/runs", "/results", "/results/baseline", "/tests", "/tests?model=x&q=y", "/api/runs",
                     "/api/tests/count"):
            status, body, _ = v.get(path)
            assert status == 200, (path, body[:300])
        assert "No runs in this store yet" in v.get("/runs")[1]
        assert "No test matches" in v.get("/tests")[1]


def test_test_page_says_how_the_final_answer_reported_its_result(tmp_path: Path) -> None:
    with open_store(tmp_path / "answers.db") as store:
        store.start_run("r1", 3, {"argv": ["pilotbench", "run"]})
        shapes = {"plain": ("plain", ["h_0af9be40"], False), "several": (None, ["h_11111111", "h_22222222"], False),
                  "failed": ("result_line", ["h_0af9be40"], True)}
        ids = {}
        for name, (form, handles, failed) in shapes.items():
            rec = script_record("r1")
            rec.attempt_id, rec.test_id = new_attempt_id(), f"{name:0<20}"
            rec.trajectory = {**rec.trajectory, "result_form": form, "result_handles": handles, "declared_failure": failed,
                              "declared_completion": False}
            store.write([rec])
            ids[name] = rec.attempt_id
        with ViewerThread(store) as viewer:
            pages = {name: viewer.get(f"/tests/{aid}")[1] for name, aid in ids.items()}
    assert "result named in plain words" in pages["plain"], re.findall(r"Stopped by.*", pages["plain"])
    assert "several results reported:" not in pages["plain"]
    assert "several results reported: h_11111111, h_22222222" in pages["several"]
    assert "the answer says the task failed" in pages["failed"] and "plain words" not in pages["failed"]


def test_rules_and_section_titles_are_words(view_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every error category and success level has its rule in words (no code constant, no formula),
    the test page takes it from there even with the scorer's docstring gone, and section links
    never show a report's raw keys."""
    from pilotbench.benchmark import scoring
    from pilotbench.benchmark.types import ERROR_CATEGORIES, SUCCESS_LEVELS
    from pilotbench.reports.words import category_rule, every_rule_is_worded, level_rule
    from pilotbench.view.pages import report_sections, section_title

    assert every_rule_is_worded() == []
    code = re.compile(r"[A-Z]{2,}_[A-Z]|\w\(steps\)|`|[a-z]+_[a-z]+")
    for text in [category_rule(c, 5) for c in ERROR_CATEGORIES] + [level_rule(lvl, 5) for lvl in SUCCESS_LEVELS]:
        assert text and not code.search(text), text
    assert "more than 5 calls" in category_rule("tool_selection_errors", 5)  # the threshold for this task
    assert f"at least {scoring.PARTIAL_MIN_STEPS} " in level_rule("partial_success")
    monkeypatch.setattr(scoring, "__doc__", "")
    with open_store(view_db[0], create=False) as store:
        data = ViewData(store)
        aid, cat = store.query("SELECT attempt_id, error_category FROM results WHERE status='done' "
                               "AND error_category IS NOT NULL AND model='sim/weak' LIMIT 1")[0]
        page = Pages(data, Links()).test(aid)
        assert page is not None and str(markupsafe.escape(category_rule(cat)[:30])) in page
        sections = report_sections(data.report())
    assert {"paired", "reply_shapes", "operations"} <= set(sections)
    assert not {"pooled", "statistics", "sections", "conditions", "players", "headline"} & set(sections)
    assert all("_" not in section_title(s) for s in sections)


def test_turns_show_their_time_and_tokens_when_recorded(tmp_path: Path) -> None:
    """Each turn's time (trajectory.turn_seconds) and, where a run recorded them, its tokens
    (trajectory.turn_tokens: [prompt, completion] per turn) sit in the turn's header."""
    r = script_record("r1")
    r.trajectory = {**r.trajectory, "turn_seconds": [1.25, 0.5], "turn_tokens": [[1200, 40], [1300, 25]]}
    with open_store(tmp_path / "r.db") as store:
        store.write([r])
        page = Pages(ViewData(store), Links()).test(r.attempt_id)
    assert page is not None
    assert re.findall(r'turn (\d) <span class="muted turn-time">· ([0-9.]+) s</span> <span class="muted turn-tokens">· '
                      r'([0-9,]+) tokens in, (\d+) out</span>', page) == [("1", "1.2", "1,200", "40"), ("2", "0.5", "1,300", "25")]
    assert "(each turn's below)" in page


def test_the_overview_counts_are_the_models_tables_linked_to_their_tests(viewer: ViewerThread, view_db: Any) -> None:
    """Under the headline, attempts by status and done tests by success level are the table model's
    tables (`counts_section`), each count linked to exactly the tests it counts."""
    from pilotbench.reports.render.model import counts_section

    with open_store(view_db[0], create=False) as store:
        rep = ViewData(store).report()
    model = counts_section(rep)
    assert [t.caption for t in model.tables] == ["Attempts by status", "Done tests by success level"]
    assert [[r[0].text for r in t.rows] for t in model.tables] == [
        list(rep["by_status"]), [k.replace("_", " ") for k in rep["by_success_level"]]]
    _, body, _ = viewer.get("/results")
    checked = 0
    for t in model.tables:
        part = body.split(f"<caption>{t.caption}</caption>", 1)[1].split("</table>", 1)[0]
        for row in t.rows:
            href, shown = re.search(rf'<td>{row[0].text}</td><td><a href="([^"]+)">([0-9,]+)</a>', part).groups()  # type: ignore[union-attr]
            assert int(shown.replace(",", "")) == row[1].value
            _, page, _ = viewer.get(html.unescape(href))
            assert len(_rows(page)) == row[1].value, (row[0].text, href)
            checked += 1
    assert checked == len(rep["by_status"]) + len(rep["by_success_level"]) >= 5


def test_the_viewer_offers_exactly_the_sections_the_table_model_has(view_db: Any) -> None:
    """Every section of results the report holds is a page (the table model has a section for each);
    a report key the model has no section for is not offered (there is no second flattener)."""
    from pilotbench.reports.render.model import tables as model_tables
    from pilotbench.view.report_tables import report_sections

    with open_store(view_db[0], create=False) as store:
        data = ViewData(store)
        rep = data.report()
        sections = report_sections(rep)
        assert sections == [k for k in rep if k in {"baseline", "scale", "flaw_robustness", "tool_reliability",
                                                     "prompt_sensitivity", "error_categories", "paired", "operations",
                                                     "reply_shapes", "comparisons"}]
        assert set(sections) <= {s.id for s in model_tables(rep)}
        assert report_sections({**rep, "new_figures": {"a": {"b": 1}}}) == sections
        pages = Pages(data, Links())
        for s in sections:
            assert pages.results(s) is not None
