"""The typed walk: which chains of tools a task may be, as a seeded random walk over the catalog's types.

Every edge is a real data edge: each step after the first consumes the handle of an earlier step,
every step but the last feeds a later one, and some steps need two upstream outputs (a mapper takes
records *and* a connection; a fetcher or poster takes the session of the chain's authenticator). The
first step starts from a literal the task declares in its inputs. Pure: no I/O; randomness only from
the `random.Random` it is given.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .toolkit import ENTRIES, on_change
from .tools import ANY, SAME, TOOLS

# Required tools per task type (inclusive bounds).
LENGTHS: dict[str, tuple[int, int]] = {
    "simple_task": (2, 2),
    "basic_task": (3, 3),
    "data_pipeline": (3, 5),
    "api_integration": (3, 5),
    "multi_stage_pipeline": (5, 7),
}

# --------------------------------------------------------------------------- the typed graph

# Tools a chain may start with (the only ones that take nothing but literals), with the literal role per param.
_ROOT_FEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "file_operations_reader": (("path", "source_path"),),
    "file_operations_scanner": (("directory", "source_directory"),),
    "network_fetcher": (("url", "source_url"),),
    "integration_authenticator": (("service", "service"), ("credential_ref", "credential")),
}
_AUTH = "integration_authenticator"
# Data types only the run log, tracker, notifier or helper take: a chain ends with them.
_FINAL_ONLY = frozenset({"log", "event", "notification", "value"})


def _build_consumers() -> dict[str, tuple[tuple[str, str], ...]]:
    """data type -> ((tool, data param), ...): who may take a handle of that type in a generated chain."""
    out: dict[str, list[tuple[str, str]]] = {}
    for dtype in _all_types():
        if dtype in _FINAL_ONLY:
            continue
        for name, spec in TOOLS.items():
            if name in _ROOT_FEEDS and name not in ("file_operations_reader", "network_fetcher"):
                continue
            for p in spec.data_params:
                if p.accepts is None:
                    continue
                if p.accepts == (ANY,):
                    if dtype in ENTRIES[name].any_skip:  # what an "any handle" tool is not sensibly used on
                        continue
                elif dtype not in p.accepts:
                    continue
                out.setdefault(dtype, []).append((name, p.name))
    return {k: tuple(v) for k, v in out.items()}


def _all_types() -> tuple[str, ...]:
    from .tools import DATA_TYPES

    return tuple(DATA_TYPES)


_CONSUMERS: dict[str, tuple[tuple[str, str], ...]] = {}


def _find_main_param(tool: str) -> str | None:
    names = [p.name for p in TOOLS[tool].data_params]
    for n in ("input", "path"):
        if n in names:
            return n
    return None


# The data parameter that carries each step's main input (its `input`, or a reader's `path`).
_MAIN: dict[str, str | None] = {}
# Parameters that take only a literal the task declares, per tool: (param, role).
_LITERAL_ONLY: dict[str, tuple[tuple[str, str], ...]] = {}
_PARAM_POS: dict[str, dict[str, int]] = {}


def _main_param(tool: str) -> str | None:
    return _MAIN[tool]


# --------------------------------------------------------------------------- the walk


@dataclass(slots=True)
class _Out:
    type: str
    open: bool = True  # not consumed by a later step yet
    rich: bool = True  # carries the source data's fields (a partner's reply to a POST does not)


_TYPE_POOLS: dict[str, frozenset[str] | None] = {
    "simple_task": None,
    "basic_task": None,
    "data_pipeline": frozenset(),  # the data_processing, file_operations and computation tools (_rebuild)
    "api_integration": None,
    "multi_stage_pipeline": None,
}
_ROOTS: dict[str, tuple[tuple[str, int], ...]] = {
    "simple_task": (("file_operations_reader", 4), ("network_fetcher", 3), ("file_operations_scanner", 2), (_AUTH, 2)),
    "basic_task": (("file_operations_reader", 4), ("network_fetcher", 3), ("file_operations_scanner", 2), (_AUTH, 2)),
    "data_pipeline": (("file_operations_reader", 3), ("file_operations_scanner", 1)),
    "api_integration": (("file_operations_reader", 1), ("network_fetcher", 3), ("file_operations_scanner", 1), (_AUTH, 5)),
    "multi_stage_pipeline": (("file_operations_reader", 4), ("network_fetcher", 3), ("file_operations_scanner", 2), (_AUTH, 3)),
}
_API_CATEGORIES = ("network", "integration")
_TERMINAL: frozenset[str] = frozenset()


def _weighted(rng: random.Random, items: list[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in items)
    x = rng.random() * total
    for item, w in items:
        x -= w
        if x < 0:
            return item
    return items[-1][0]


def _out_type(tool: str, feeds: dict[str, int | str], outs: list[_Out]) -> str:
    spec = TOOLS[tool]
    if spec.output == SAME:
        return outs[int(feeds["input"])].type
    return spec.output


def _new_out(tool: str, feeds: dict[str, int | str], outs: list[_Out]) -> _Out:
    up = feeds.get("input")
    rich = _rich_after(tool, outs[up]) if isinstance(up, int) else _rich_after(tool, None)
    return _Out(_out_type(tool, feeds, outs), rich=rich)


# Steps still needed to turn a handle of this type into records a mapper can take.
_TO_RECORDS = {"records": 0, "raw": 1, "response": 1, "file_list": 2}


def _static_candidates() -> dict[tuple[str, str], tuple[tuple[str, str, float], ...]]:
    """(task type, data type) -> ((tool, data param, base weight), ...) allowed in that task type."""
    table: dict[tuple[str, str], tuple[tuple[str, str, float], ...]] = {}
    for task_type, pool in _TYPE_POOLS.items():
        for dtype, consumers in _CONSUMERS.items():
            rows = []
            for tool, param in consumers:
                if pool is not None and tool not in pool:
                    continue
                rows.append((tool, param, _weight(task_type, tool)))
            table[(task_type, dtype)] = tuple(rows)
    return table


def _weight(task_type: str, tool: str) -> float:
    w = ENTRIES[tool].weight  # how often the walk takes it when it may (relative): each tool's own
    if task_type == "api_integration" and TOOLS[tool].category in _API_CATEGORIES:
        w *= 3.0
    return w


_FEEDERS: dict[tuple[str, str], tuple[tuple[str, str, float], ...]] = {}


@on_change
def _rebuild() -> None:
    """The walk's tables, from the registered tools (again whenever one is registered or unregistered)."""
    global _TERMINAL
    _CONSUMERS.clear()
    _CONSUMERS.update(_build_consumers())
    _MAIN.clear()
    _MAIN.update({n: _find_main_param(n) for n in TOOLS})
    _LITERAL_ONLY.clear()
    _LITERAL_ONLY.update({
        n: tuple((p.name, p.literal) for p in t.parameters if p.literal and not p.is_data) for n, t in TOOLS.items()
    })
    _PARAM_POS.clear()
    _PARAM_POS.update({n: {p.name: i for i, p in enumerate(t.parameters)} for n, t in TOOLS.items()})
    _TYPE_POOLS["data_pipeline"] = frozenset(
        n for n, t in TOOLS.items() if t.category in ("data_processing", "file_operations", "computation")
    )
    _TERMINAL = frozenset(t for t in _all_types() if t not in _CONSUMERS)
    _FEEDERS.clear()


_rebuild()


def _two_open_ok(types: list[str], outs_rich: bool, remaining: int) -> bool:
    """Two open branches are allowed only as a connection waiting for records to be mapped onto it."""
    if len(types) != 2 or "connection" not in types:
        return False
    other = types[0] if types[1] == "connection" else types[1]
    need = _TO_RECORDS.get(other)
    return need is not None and outs_rich and need + 1 <= remaining


def _candidates(task_type: str, steps: list[tuple[str, dict[str, int | str]]], outs: list[_Out],
                remaining: int, used: set[str], auth: int | None) -> list[tuple[tuple[str, dict[str, int | str]], float]]:
    """Next steps that consume at least one earlier output; `remaining` = steps still to add after this one."""
    if not _FEEDERS:
        _FEEDERS.update(_static_candidates())
    opens = [i for i, o in enumerate(outs) if o.open]
    seen: set[str] = set()
    result: list[tuple[tuple[str, dict[str, int | str]], float]] = []
    mapper_ok = "integration_mapper" not in used and task_type != "data_pipeline"
    for i in opens:
        out_i = outs[i]
        producer = steps[i][0]
        for tool, param, weight in _FEEDERS[(task_type, out_i.type)]:
            if tool in used or tool in seen:
                continue
            entry = ENTRIES[tool]
            if producer in entry.not_after or (entry.needs_fields and not out_i.rich):
                continue
            consumed = [i]
            if tool == "integration_mapper":
                other_type = "connection" if param == "input" else "records"
                partner = next((j for j in opens if j != i and outs[j].type == other_type), None)
                if partner is None:
                    continue
                consumed.append(partner)
                feeds: dict[str, int | str] = (
                    {"input": i, "connection": partner} if param == "input" else {"input": partner, "connection": i}
                )
            elif tool == "network_fetcher":
                feeds = {"url": "source_url", "session": i}
            elif tool == "network_poster":
                if param == "session":
                    data = next((j for j in opens if j != i and ("network_poster", "input") in _CONSUMERS.get(outs[j].type, ())
                                 and steps[j][0] not in entry.not_after), None)
                    if data is None:
                        continue
                    consumed.append(data)
                    feeds = {"input": data, "url": "endpoint", "session": i}
                else:
                    feeds = {"input": i, "url": "endpoint"}
                    if auth is not None:
                        feeds["session"] = auth
                        if outs[auth].open:
                            consumed.append(auth)
            elif tool == "file_operations_reader":
                feeds = {"path": i}
            else:
                feeds = {param: i}
                for pname, role in _LITERAL_ONLY[tool]:
                    feeds[pname] = role
            out_type = out_i.type if TOOLS[tool].output == SAME else TOOLS[tool].output
            still_open = [j for j in opens if j not in consumed]
            if remaining == 0:
                if still_open:
                    continue
            else:
                if out_type in _TERMINAL:
                    continue
                if still_open:
                    if not mapper_ok or len(still_open) != 1:
                        continue
                    rich = outs[still_open[0]].rich if out_type == "connection" else _rich_after(tool, out_i)
                    if not _two_open_ok([outs[still_open[0]].type, out_type], rich, remaining):
                        continue
            seen.add(tool)
            result.append(((tool, feeds), weight))
    # A second branch off a session already used: a connection for records to be mapped onto, or a fetch.
    if auth is not None and not outs[auth].open and mapper_ok and remaining >= 1 and len(opens) == 1:
        head = outs[opens[0]]
        for tool, feeds in (("integration_connector", {"input": auth, "target": "target_system"}),
                            ("network_fetcher", {"url": "source_url", "session": auth})):
            if tool in used or tool in seen:
                continue
            out_type = TOOLS[tool].output
            rich = head.rich if tool == "integration_connector" else True
            if _two_open_ok([head.type, out_type], rich, remaining):
                result.append(((tool, feeds), _weight(task_type, tool) * 2.0))
    return result


def _rich_after(tool: str, up: _Out | None) -> bool:
    """Whether the tool's output carries the source data's fields, given its main input (None: it has
    none): the tool's own rule (`Tool.keeps_fields`), else yes (it works on them or brings them in)."""
    keeps = ENTRIES[tool].keeps_fields
    if keeps is None:
        return True
    return keeps(up.rich, up.type) if up is not None else keeps(True, None)


def _api_ok(tools: list[str]) -> bool:
    net = sum(1 for t in tools if TOOLS[t].category in _API_CATEGORIES)
    return net >= 2 and any(ENTRIES[t].api_core for t in tools)


def _walk(task_type: str, rng: random.Random) -> list[tuple[str, dict[str, int | str]]]:
    lo, hi = LENGTHS[task_type]
    roots = [(t, float(w)) for t, w in _ROOTS[task_type]]
    if not _FEEDERS:
        _FEEDERS.update(_static_candidates())
    for attempt in range(400):
        length = rng.randint(lo, hi)
        root = _weighted(rng, roots)
        steps: list[tuple[str, dict[str, int | str]]] = [(root, dict(_ROOT_FEEDS[root]))]
        outs = [_Out(TOOLS[root].output)]
        used = {root}
        auth = 0 if root == _AUTH else None
        ok = True
        for k in range(1, length):
            cands = _candidates(task_type, steps, outs, length - 1 - k, used, auth)
            if not cands:
                ok = False
                break
            tool, feeds = _weighted(rng, cands)
            for v in feeds.values():
                if isinstance(v, int):
                    outs[v].open = False
            steps.append((tool, feeds))
            used.add(tool)
            outs.append(_new_out(tool, feeds, outs))
        if not ok:
            continue
        if task_type == "api_integration" and not _api_ok([t for t, _ in steps]):
            continue
        return steps
    raise RuntimeError(f"no chain found for {task_type}")  # pragma: no cover - the graph always has one
