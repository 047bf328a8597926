"""The viewer over a PostgreSQL store: the same pages from the same kind of rows. Skipped without PostgreSQL."""

from __future__ import annotations

import html
import re

from pilotbench.store import open_store
from pilotbench.store.transcripts import decode_transcript
from pilotbench.view.data import ViewData, parse_filters

from ..distributed.pgserver import pg_url  # noqa: F401 - a fixture
from .helpers import XSS, ViewerThread, make_store


def test_every_page_over_postgres(pg_url: str) -> None:  # noqa: F811
    info = make_store(pg_url)
    with open_store(pg_url, create=False) as store:
        # the transcript column is plain text there too, and reads back
        value = store.query("SELECT transcript FROM results WHERE attempt_id = ?", [info["xss"]])[0][0]
        assert decode_transcript(value)["messages"][-1]["content"].endswith(XSS)  # type: ignore[index]
        data = ViewData(store)
        assert data.distinct("model") == ["sim/medium", "sim/strong", "sim/weak"]
        page = data.tests_page(parse_filters({"model": "sim/weak", "prompt_type": "optimal"}), page_size=5)
        assert page.count == store.count("model=? AND prompt_type=?", ["sim/weak", "optimal"]) and len(page.rows) == 5
        nxt = data.tests_page(parse_filters({"model": "sim/weak", "prompt_type": "optimal"}), before=page.older, page_size=5)
        assert not {r["attempt_id"] for r in nxt.rows} & {r["attempt_id"] for r in page.rows}
        assert {r["test_id"] for r in data.tests_page(parse_filters({"q": "pwned"})).rows} >= {"xss0000000000000test"}
        with ViewerThread(store) as v:
            for path in ("/runs", f"/runs/{info['run']}", "/results", "/results/baseline", "/tests",
                         "/tests?status=error", f"/tests/{info['xss']}"):
                status, body, _ = v.get(path)
                assert status == 200, (path, body[:500])
            run = v.json(f"/api/runs/{info['run']}")
            assert run["done"] == info["tests"] + 1 and run["errors"] == 1
            _, body, _ = v.get(f"/tests/{info['xss']}")
            assert XSS not in body
            aid = store.query("SELECT attempt_id FROM results WHERE model='sim/weak' AND prompt_type='optimal' LIMIT 1")[0][0]
            _, body, _ = v.get(f"/tests/{aid}")
            link = re.findall(r'class="compare-model" href="([^"]+)"', body)
            assert link and v.get(html.unescape(link[0]))[0] == 200
