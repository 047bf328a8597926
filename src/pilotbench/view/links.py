"""Where the viewer's pages link: URLs of the live server (`Links`) or file names of a static export
(`StaticLinks`), so the same templates serve both."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import urlencode


# ---------------------------------------------------------------------- links


class Links:
    """URLs of the live server."""

    static = False

    def runs(self) -> str:
        return "/runs"

    def run(self, run_id: str) -> str:
        return "/runs/" + _quote(run_id)

    def run_json(self, run_id: str) -> str:
        return "/api/runs/" + _quote(run_id)

    def results(self, section: str | None = None) -> str:
        return "/results" + (f"/{_quote(section)}" if section else "")

    def tests(self, **params: Any) -> str:
        clean = {k: _text(v) for k, v in params.items() if v is not None and v != ""}
        return "/tests" + ("?" + urlencode(clean) if clean else "")

    def test(self, attempt_id: str) -> str:
        return "/tests/" + _quote(attempt_id)

    def tests_count(self, **params: Any) -> str:
        clean = {k: _text(v) for k, v in params.items() if v is not None and v != ""}
        return "/api/tests/count" + ("?" + urlencode(clean) if clean else "")

    def compare(self, a: str, b: str) -> str:
        return "/compare?" + urlencode({"a": a, "b": b})

    def asset(self, name: str) -> str:
        return "/static/" + name


class StaticLinks(Links):
    """File names of a static export (one flat directory); every page linked is recorded to be written."""

    static = True

    def __init__(self) -> None:
        self.wanted: dict[str, tuple[str, dict[str, Any]]] = {}

    def _want(self, name: str, kind: str, **args: Any) -> str:
        self.wanted.setdefault(name, (kind, args))
        return name

    def runs(self) -> str:
        return "index.html"

    def run(self, run_id: str) -> str:
        return self._want(f"run-{_slug(run_id)}.html", "run", run_id=run_id)

    def run_json(self, run_id: str) -> str:
        return ""

    def results(self, section: str | None = None) -> str:
        if not section:
            return self._want("results.html", "results")
        return self._want(f"results-{_slug(section)}.html", "results", section=section)

    def tests(self, **params: Any) -> str:
        clean = {k: _text(v) for k, v in sorted(params.items()) if v is not None and v != ""}
        if not clean:
            return self._want("tests.html", "tests", params={})
        digest = hashlib.blake2b(json.dumps(clean, sort_keys=True).encode(), digest_size=6).hexdigest()
        return self._want(f"tests-{digest}.html", "tests", params=clean)

    def test(self, attempt_id: str) -> str:
        return self._want(f"test-{_slug(attempt_id)}.html", "test", attempt_id=attempt_id)

    def compare(self, a: str, b: str) -> str:
        return self._want(f"compare-{_slug(a)}-{_slug(b)}.html", "compare", a=a, b=b)

    def asset(self, name: str) -> str:
        return name


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(str(text), safe="")


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text))[:80]
    if s != str(text):
        s += "-" + hashlib.blake2b(str(text).encode(), digest_size=4).hexdigest()
    return s


def _text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
