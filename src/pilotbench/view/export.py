"""`pilotbench view --export DIR`: the viewer's pages as static files, to share or attach to a paper.

The export starts from the runs, the results and the tests list and follows the links the pages
make, breadth first, up to `max_pages`; a link to a page beyond that goes to `missing.html`, which
says so. Live parts (the polling of a running run, the list's filter form and paging) are left out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from ..store.base import Store
from .data import ViewData
from .links import StaticLinks
from .pages import Pages, render_choices

MISSING = "missing.html"


class _BoundedLinks(StaticLinks):
    def __init__(self, max_pages: int) -> None:
        super().__init__()
        self.max_pages = max_pages

    def _want(self, name: str, kind: str, **args: Any) -> str:
        if name in self.wanted or len(self.wanted) < self.max_pages:
            return super()._want(name, kind, **args)
        return MISSING


def export_site(store: Store, out: str | os.PathLike[str], *, max_pages: int = 5000,
                progress: Callable[[int], None] | None = None) -> int:
    """Write the pages into `out` (created if needed); returns how many pages were written."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    data = ViewData(store)
    links = _BoundedLinks(max_pages)
    pages = Pages(data, links)
    links.wanted["index.html"] = ("runs", {})
    links.results()
    links.tests()
    written: set[str] = set()
    while True:
        todo = [n for n in links.wanted if n not in written]
        if not todo:
            break
        for name in todo:
            kind, args = links.wanted[name]
            html = _render(pages, data, kind, args)
            written.add(name)
            if html is None:
                html = pages.error(404, "this page has no data in the export")
            _write(directory / name, html)
            if progress is not None:
                progress(len(written))
    _write(directory / MISSING, pages.error(404, "This page is not in the export (it stops at "
                                            f"{max_pages} pages); open the store with `pilotbench view` to see it."))
    for asset in ("view.css",):
        (directory / asset).write_bytes(resources.files("pilotbench.view").joinpath("static", asset).read_bytes())
    return len(written)


def _render(pages: Pages, data: ViewData, kind: str, args: dict[str, Any]) -> str | None:
    if kind == "runs":
        return pages.runs()
    if kind == "run":
        return pages.run(args["run_id"])
    if kind == "results":
        return pages.results(args.get("section"))
    if kind == "tests":
        return pages.tests(data.tests_page(dict(args.get("params") or {})), render_choices(data))
    if kind == "test":
        return pages.test(args["attempt_id"])
    if kind == "compare":
        return pages.compare(args["a"], args["b"])
    raise ValueError(kind)  # pragma: no cover


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
