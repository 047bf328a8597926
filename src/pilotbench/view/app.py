"""`pilotbench view`: the results browser, an aiohttp application over the store.

Pages are rendered in a worker thread (store queries block); the store is opened read-only in
spirit (create=False) and every query goes through `ViewData`. The server binds 127.0.0.1
unless told otherwise, and every page carries a Content-Security-Policy that allows only its
own scripts: even a value that escaped escaping could not run.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from .data import COUNT_CAP, INT64_MAX, BadRequest, ViewData, parse_filters
from ..store.base import Store
from .links import Links
from .pages import Pages, render_choices

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7575
_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'"
_ASSETS = {"view.css": "text/css", "run.js": "text/javascript", "tests.js": "text/javascript", "runs.js": "text/javascript"}

DATA_KEY = web.AppKey("data", ViewData)
PAGES_KEY = web.AppKey("pages", Pages)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _cursor(query: Any, name: str) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        row = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a row number, got {value[:40]!r}") from None
    if not 0 <= row <= INT64_MAX:
        raise BadRequest(f"{name} must be a row number between 0 and {INT64_MAX}, got {value[:40]}")
    return row


@web.middleware
async def _errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    pages = request.app[PAGES_KEY]
    try:
        response = await handler(request)
    except BadRequest as e:
        response = _html(await asyncio.to_thread(pages.error, 400, str(e)), 400)
    except web.HTTPNotFound:
        response = _html(await asyncio.to_thread(pages.error, 404, f"nothing at {request.path}"), 404)
    except Exception as e:  # noqa: BLE001 - re-raised unless the store names it a damaged file
        corrupt = request.app[DATA_KEY].store.damage_message(e)
        if corrupt is None:
            raise
        log.error("%s", corrupt)
        response = _html(await asyncio.to_thread(pages.error, 500, corrupt), 500)
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def _found(text: str | None) -> web.Response:
    if text is None:
        raise web.HTTPNotFound()
    return _html(text)


async def _index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/runs")


async def _runs(request: web.Request) -> web.StreamResponse:
    return _html(await asyncio.to_thread(request.app[PAGES_KEY].runs))


async def _run(request: web.Request) -> web.StreamResponse:
    return _found(await asyncio.to_thread(request.app[PAGES_KEY].run, request.match_info["run_id"], figures=False))


async def _runs_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(await asyncio.to_thread(request.app[DATA_KEY].runs), dumps=lambda v: json.dumps(v, default=str))


async def _run_json(request: web.Request) -> web.StreamResponse:
    run = await asyncio.to_thread(request.app[DATA_KEY].run, request.match_info["run_id"])
    if run is None:
        return web.json_response({"error": "no such run"}, status=404)
    return web.json_response(run, dumps=lambda v: json.dumps(v, default=str))


async def _results(request: web.Request) -> web.StreamResponse:
    return _found(await asyncio.to_thread(request.app[PAGES_KEY].results, request.match_info.get("section")))


async def _tests(request: web.Request) -> web.StreamResponse:
    query = dict(request.query)
    filters = parse_filters(query)
    before, after = _cursor(query, "before"), _cursor(query, "after")
    if before is not None and after is not None:
        raise BadRequest("give before or after, not both")
    data, pages = request.app[DATA_KEY], request.app[PAGES_KEY]

    def render() -> str:
        # The count comes after the page (tests.js asks /api/tests/count): a capped count of an
        # unindexed filter reads rows, and the first page should not wait for it.
        page = data.tests_page(filters, before=before, after=after, count=False)
        return pages.tests(page, render_choices(data))

    return _html(await asyncio.to_thread(render))


async def _tests_count(request: web.Request) -> web.StreamResponse:
    filters = parse_filters(dict(request.query))
    n = await asyncio.to_thread(request.app[DATA_KEY].count, filters)
    return web.json_response({"count": n, "cap": COUNT_CAP})


async def _test(request: web.Request) -> web.StreamResponse:
    return _found(await asyncio.to_thread(request.app[PAGES_KEY].test, request.match_info["attempt_id"]))


async def _compare(request: web.Request) -> web.StreamResponse:
    a, b = request.query.get("a", ""), request.query.get("b", "")
    if not a or not b:
        raise BadRequest("side by side needs two attempts: /compare?a=ATTEMPT&b=ATTEMPT")
    return _found(await asyncio.to_thread(request.app[PAGES_KEY].compare, a, b))


async def _asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in _ASSETS:
        raise web.HTTPNotFound()
    body = resources.files("pilotbench.view").joinpath("static", name).read_bytes()
    return web.Response(body=body, content_type=_ASSETS[name], headers={"Cache-Control": "no-cache"})


def make_app(store: Store, *, poll_ms: int = 2000) -> web.Application:
    """The viewer over an open store (the caller closes it)."""
    data = ViewData(store)
    app = web.Application(middlewares=[_errors])
    app[DATA_KEY] = data
    app[PAGES_KEY] = Pages(data, Links(), poll_ms=poll_ms)
    app.router.add_get("/", _index)
    app.router.add_get("/runs", _runs)
    app.router.add_get("/runs/{run_id}", _run)
    app.router.add_get("/api/runs", _runs_json)
    app.router.add_get("/api/runs/{run_id}", _run_json)
    app.router.add_get("/results", _results)
    app.router.add_get("/results/{section}", _results)
    app.router.add_get("/tests", _tests)
    app.router.add_get("/tests/{attempt_id}", _test)
    app.router.add_get("/api/tests/count", _tests_count)
    app.router.add_get("/compare", _compare)
    app.router.add_get("/static/{name}", _asset)
    return app


def serve(store: Store, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, print_fn: Callable[[str], None] = print) -> None:
    """Serve until Ctrl-C (port 0: any free port; the line printed names the one bound)."""
    try:
        asyncio.run(_serve(make_app(store), host, port, print_fn))
    except KeyboardInterrupt:
        pass


async def _serve(app: web.Application, host: str, port: int, print_fn: Callable[[str], None]) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1] if site._server and site._server.sockets else port  # type: ignore[union-attr]
        shown = f"[{host}]" if ":" in host else host
        print_fn(f"pilotbench view on http://{shown}:{bound}/ (Ctrl-C to stop)")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
