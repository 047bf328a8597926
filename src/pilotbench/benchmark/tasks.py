"""The task suite: five task types, generated deterministically from a seed.

A task is a typed composition of the catalog tools (``tools.py``): a seeded random walk over the
graph whose edges are the catalog's own data types (a parser's ``records`` go to a filter, a
reader's ``raw`` content to a parser, an authenticator's ``session`` to a fetcher, ...). Every
edge is a real data edge: each step after the first consumes the handle of an earlier step, every
step but the last feeds a later one, and some steps need two upstream outputs (a mapper takes
records *and* a connection; a fetcher or poster takes the session of the chain's authenticator).
The first step starts from a literal the task declares in its inputs (a source file, directory,
URL, or a service and credential), and so do the other literal roles a step needs (endpoint,
target system, recipient, queue name, output path).

An instance is a pure function of (seed, task type, index), so a suite of any size can be
materialised lazily and ``--num-instances`` can grow on resume without changing earlier instances.
The suite's version is a content hash of the generator's output (and the tool catalog it names),
stored with every result so that numbers from different suites are never mixed silently.

The description at each difficulty is the only place a model learns what to do; its wording
follows the tools' public descriptions (purpose and typical uses) so a careful reader can map it
onto the schemas, and never names a tool except at ``very_easy`` and ``easy``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .domains import _CONSTRAINTS, _DOMAINS, _FORMAT_WEIGHTS, _FORMATS, _Domain
from .tools import ANY, SAME, TOOLS
from .types import DIFFICULTIES, TASK_TYPES
from .walk import _AUTH, _PARAM_POS, LENGTHS, _main_param, _walk
from .wording import (
    _ANALYSIS_WORDS,
    _CHECKED,
    _CRONS,
    _DESTINATIONS,
    _EASY_FRAMES,
    _GOAL_FRAMES,
    _HARD,
    _HARD_FRAMES,
    _HELPER_WORDS,
    _LIMITS,
    _MEDIUM_FRAMES,
    _METRIC_WORDS,
    _REF,
    _ROLE_TAKES,
    _SCENARIOS,
    _TIMEZONES,
    _VE_FRAMES,
    _VERY_HARD_FRAMES,
    _VH,
    _CHANNEL_WORDS,
    _PROTOCOL_WORDS,
    _TTL_WORDS,
    _WRITE_MODES,
)

GENERATOR_VERSION = "3"
DEFAULT_SEED = 42

# --------------------------------------------------------------------------- the task


@dataclass(frozen=True, slots=True)
class TaskStep:
    """One required step: the tool and, per data or literal parameter it must be given, where the value
    comes from: an int is the index of the upstream step whose handle it takes, a str a literal role
    whose value is in the task's inputs. `args` are settings for its other parameters that are valid
    on the data this chain produces (what an optimal plan may suggest); a model may choose others."""

    tool: str
    feeds: tuple[tuple[str, int | str], ...]
    args: tuple[tuple[str, Any], ...] = ()
    # The settings the task states and the scorer compares (docs/scoring.md, "Settings"); the step's other
    # settings are free: any valid value does.
    checked: tuple[str, ...] = ()

    @property
    def checked_args(self) -> dict[str, Any]:
        return {k: v for k, v in self.args if k in self.checked}

    @property
    def free(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.args if k not in self.checked)

    @property
    def upstream(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(v for _, v in self.feeds if isinstance(v, int)))

    @property
    def literals(self) -> tuple[str, ...]:
        return tuple(v for _, v in self.feeds if isinstance(v, str))

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "feeds": dict(self.feeds), "args": dict(self.args), "checked": list(self.checked),
                "free": list(self.free)}


@dataclass(frozen=True, slots=True)
class TaskInstance:
    """One task: everything a prompt and a scorer need."""

    id: str
    task_type: str
    index: int
    domain: str
    goal: str
    inputs: dict[str, str]  # literal role -> value, only the roles the chain needs
    steps: tuple[TaskStep, ...]  # topological order
    constraints: tuple[str, ...]
    descriptions: tuple[str, ...]  # one per difficulty, in DIFFICULTIES order
    fields: tuple[tuple[str, str], ...] = ()  # the source data's fields: name -> string|number|integer|date
    source_format: str = "csv"
    # Literal inputs the task declares but does not need (one destination it does not ask for): the prompt
    # lists them with the others, so the input roles alone do not give the workflow away.
    decoys: dict[str, str] = field(default_factory=dict)

    @property
    def declared_inputs(self) -> dict[str, str]:
        """Every literal the prompt shows (the needed ones and the decoys), by role."""
        return dict(sorted({**self.inputs, **self.decoys}.items()))

    @property
    def required_tools(self) -> tuple[str, ...]:
        return tuple(s.tool for s in self.steps)

    @property
    def dependencies(self) -> dict[str, tuple[str, ...]]:
        """tool -> the tools whose outputs it takes (steps after the first; the first takes only literals)."""
        return {s.tool: tuple(self.steps[k].tool for k in s.upstream) for s in self.steps if s.upstream}

    @property
    def final_tool(self) -> str:
        return self.steps[-1].tool

    @property
    def final_type(self) -> str:
        """Data type of the final step's output."""
        types: list[str] = []
        for s in self.steps:
            spec = TOOLS[s.tool]
            main = dict(s.feeds).get(_main_param(s.tool) or "")
            types.append(types[main] if spec.output == SAME and isinstance(main, int) else spec.output)
        return types[-1]

    @property
    def expected_outputs(self) -> dict[str, Any]:
        return {"final_tool": self.final_tool, "final_type": self.final_type, "steps": len(self.steps)}

    def description(self, difficulty: str) -> str:
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"unknown difficulty {difficulty!r}; choose from {', '.join(DIFFICULTIES)}")
        return self.descriptions[DIFFICULTIES.index(difficulty)]

    @property
    def content_hash(self) -> str:
        return _hash(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task_type": self.task_type,
            "index": self.index,
            "domain": self.domain,
            "goal": self.goal,
            "inputs": dict(self.inputs),
            "decoys": dict(self.decoys),
            "fields": dict(self.fields),
            "source_format": self.source_format,
            "required_tools": list(self.required_tools),
            "steps": [s.to_dict() for s in self.steps],
            "expected_outputs": self.expected_outputs,
            "constraints": list(self.constraints),
            "descriptions": dict(zip(DIFFICULTIES, self.descriptions)),
        }


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _fld(name: str) -> str:
    """A field as a description names it: exactly as the data names it, so a condition can be written from it."""
    return name


def _words(name: str) -> str:
    return name.replace("_", " ")


def _join(items: list[str], conj: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def _a(word: str) -> str:
    """The indefinite article and the word: 'an XML', 'a YAML'."""
    return ("an " if word[:1].lower() in "aeiox" and not word.startswith(("YAML", "one"))
            else "a ") + word


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _num(rng: random.Random, lo: float, hi: float, integer: bool) -> int | float:
    """A round threshold inside [lo, hi]."""
    x = lo + (hi - lo) * rng.uniform(0.2, 0.8)
    if integer or hi - lo >= 20:
        return int(round(x))
    if hi - lo >= 2:
        return round(x, 1)
    return round(x, 2)


@dataclass(slots=True)
class _Data:
    """What a handle holds as the generator tracks it: type, fields (with numeric ranges and category values), format."""

    type: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fmt: str | None = None

    def numeric(self) -> list[str]:
        return [n for n, t in self.fields if t in ("number", "integer")]

    def categorical(self) -> list[str]:
        return [n for n, t in self.fields if t == "string" and n in self.values]

    def copy(self, **kw: Any) -> _Data:
        d = _Data(self.type, list(self.fields), dict(self.ranges), dict(self.values), self.fmt)
        for k, v in kw.items():
            setattr(d, k, v)
        return d


@dataclass(slots=True)
class _Say:
    """How one step is worded and the settings it uses."""

    args: dict[str, Any]
    plain: str  # medium: the operation in plain verbs
    detail: str = ""  # the step's specifics in plain words (hard, easy)
    note: str = ""  # easy: a short note next to the tool name
    outcome: str = ""  # very_hard/goal: what this step yields, if it is the work's point


class _Gen:
    """Per-instance generation context: the rng, the domain and the literal inputs declared so far."""

    def __init__(self, rng: random.Random, dom: _Domain, fmt: str) -> None:
        self.rng = rng
        self.dom = dom
        self.source_format = fmt
        self.inputs: dict[str, str] = {}
        self.stated: dict[str, list[str]] = {}
        self.year = 2024 + rng.randrange(3)
        self.month = 1 + rng.randrange(12)
        self.subject = rng.choice(dom.subjects)
        self.team = rng.choice(dom.teams)
        self.stem = rng.choice(dom.stems)

    def literal(self, role: str) -> str:
        if role not in self.inputs:
            self.inputs[role] = _LITERALS[role](self)
        return self.inputs[role]


def _lit_source_path(g: _Gen) -> str:
    r, d = g.rng, g.dom
    base = r.choice(("exports", "data/incoming", "shared/finance" if d.name in ("sales", "invoices") else "shared/ops", "archive"))
    period = r.choice((f"{g.year}-{g.month:02d}", f"{g.year}-q{(g.month - 1) // 3 + 1}", f"{g.year}"))
    return f"{base}/{d.name}/{period}/{g.stem}_{r.randrange(1, 10000):04d}.{g.source_format}"


def _lit_source_directory(g: _Gen) -> str:
    r, d = g.rng, g.dom
    return r.choice((
        f"/srv/dropzone/{d.name}/incoming/{g.year}-{g.month:02d}-{r.randrange(1, 29):02d}",
        f"inbound/{d.name}/{g.stem}_batch_{r.randrange(100, 1000)}",
        f"/mnt/sftp/{d.name}/uploads/{g.year}{g.month:02d}",
    ))


def _lit_source_url(g: _Gen) -> str:
    r, d = g.rng, g.dom
    host, res = r.choice(d.hosts), r.choice(d.resources)
    return r.choice((
        f"https://{host}/v{r.randrange(1, 4)}/{res}.json?since={g.year}-{g.month:02d}-{r.randrange(1, 29):02d}",
        f"https://{host}/api/{res}?format=json&page_size={r.choice((200, 500, 1000))}&batch={r.randrange(1000, 99999)}",
        f"https://{host}/exports/{res}/{g.year}/{g.month:02d}/{res}_{r.randrange(100, 1000)}.json",
    ))


def _lit_service(g: _Gen) -> str:
    return g.rng.choice(g.dom.services)


def _lit_credential(g: _Gen) -> str:
    r = g.rng
    svc = g.literal("service")
    return r.choice((
        f"vault:kv/{g.dom.name}/{svc}/token-{r.randrange(16**4):04x}",
        f"secret://{svc}/api-key-{r.randrange(1, 40):02d}",
        f"keyring:{g.dom.name}-{svc}-{r.randrange(100, 1000)}",
    ))


def _lit_endpoint(g: _Gen) -> str:
    r, d = g.rng, g.dom
    host = r.choice(d.partners)
    return r.choice((
        f"https://{host}/api/v{r.randrange(1, 5)}/{r.choice(d.resources)}/batch",
        f"https://{host}/inbound/{d.name}/{r.randrange(1000, 10000)}",
        f"https://{host}/v{r.randrange(1, 4)}/submissions?client=pb-{r.randrange(100, 1000)}",
    ))


def _lit_target_system(g: _Gen) -> str:
    return g.rng.choice(g.dom.targets)


def _lit_recipient(g: _Gen) -> str:
    return f"{g.rng.choice(g.dom.mailboxes)}@{g.dom.org}"


def _lit_queue_name(g: _Gen) -> str:
    r = g.rng
    return r.choice(g.dom.queues) + r.choice(("", f".p{r.randrange(1, 10)}", f"-{r.choice(('eu', 'us', 'apac'))}"))


def _lit_output_path(g: _Gen, ext: str = "csv") -> str:
    r, d = g.rng, g.dom
    base = r.choice(("reports", "out", "shared/reports", "deliverables"))
    name = r.choice((f"{g.stem}_result", f"{d.name}_{r.choice(('summary', 'extract', 'snapshot'))}", f"{g.stem}_clean"))
    return f"{base}/{d.name}/{g.year}-{g.month:02d}/{name}_{r.randrange(1, 1000):03d}.{ext}"


_LITERALS: dict[str, Callable[[_Gen], str]] = {
    "source_path": _lit_source_path,
    "source_directory": _lit_source_directory,
    "source_url": _lit_source_url,
    "service": _lit_service,
    "credential": _lit_credential,
    "endpoint": _lit_endpoint,
    "target_system": _lit_target_system,
    "recipient": _lit_recipient,
    "queue_name": _lit_queue_name,
    "output_path": _lit_output_path,
}


def _source_data(g: _Gen, dtype: str, fields: tuple[tuple[str, str], ...], ranges: dict[str, tuple[float, float]],
                 values: dict[str, tuple[str, ...]], fmt: str) -> _Data:
    return _Data(dtype, list(fields), dict(ranges), dict(values), fmt)


def _say_step(g: _Gen, tool: str, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    """Wording and settings of one step, and what its output holds. `ins`: data param -> what it receives."""
    r = g.rng
    main = ins.get("input") or ins.get("path")
    op = TOOLS[tool].operation
    cat = TOOLS[tool].category
    subj = g.subject

    if tool == "file_operations_reader":
        d = _Data("raw", list(g.src.fields), dict(g.src.ranges), dict(g.src.values), g.source_format)
        if "path" in ins:
            return _Say({}, r.choice(("read the file the scan listed", "read the listed file")), "", "the listed file",
                        f"the {subj}"), d
        return _Say({}, r.choice(("read the source file", "read the file at the source path")), "", "the source file",
                    f"the {subj}"), d
    if tool == "file_operations_scanner":
        d = _Data("file_list", [], {}, {}, None)
        args = {"pattern": f"*.{g.source_format}"}
        return _Say(args, f"list the {g.source_format.upper()} files in the source directory", "",
                    f"*.{g.source_format} files in the source directory", "an inventory of the newly arrived files"), d
    if tool == "network_fetcher":
        d = _Data("response", list(g.src.fields), dict(g.src.ranges), dict(g.src.values), "json")
        within = " within the session" if "session" in ins else ""
        return _Say({}, f"download the data from the source URL{within}", " using that login" if within else "",
                    "the source URL", f"the latest {subj} from the provider"), d
    if tool == "integration_authenticator":
        svc = g.literal("service")
        return _Say({}, f"authenticate with {svc} using the stored credential", "", f"log in to {svc} with the credential",
                    f"access to {svc}"), _Data("session")
    assert main is not None or tool in ("integration_connector",), tool

    if tool == "data_processing_parser":
        fmt = main.fmt or "json"
        args = {"format": fmt}
        what = "the response" if main.type == "response" and src == "it" else src
        return _Say(args, f"parse {what} as {fmt.upper()}", fmt.upper(), f"{fmt}", f"the {subj} in structured form"), \
            main.copy(type="records", fmt=None)
    if tool == "data_processing_transformer":
        nums, ops, words = main.numeric(), [], []
        kinds = r.sample(("cast", "derive", "rename"), 2)
        out = main.copy(type="records")
        for kind in kinds:
            if kind == "cast" and nums:
                f = r.choice(nums)
                target = "int" if dict(out.fields)[f] == "number" else "float"
                ops.append(f"cast:{f}:{target}")
                words.append(f"cast {_fld(f)} to {'a whole number' if target == 'int' else 'a decimal'}")
                out.fields = [(n, "integer" if n == f and target == "int" else "number" if n == f else t) for n, t in out.fields]
            elif kind == "derive" and len(nums) >= 2:
                a, b = r.sample(nums, 2)
                new = r.choice((f"{a}_per_{b}", f"{a}_x_{b}"))
                expr = f"{a} / {b}" if "_per_" in new else f"{a} * {b}"
                if len(new) > 40:
                    new = "derived_ratio" if "_per_" in new else "derived_product"
                ops.append(f"derive:{new}={expr}")
                words.append(f"derive {_fld(new)} as {_fld(a)} {'divided by' if '/' in expr else 'times'} {_fld(b)}")
                out.fields.append((new, "number"))
                lo_a, hi_a = out.ranges.get(a, (0, 100))
                out.ranges[new] = (0, max(1.0, hi_a))
            elif kind == "derive" and nums:
                a = r.choice(nums)
                rate = r.choice((1.08, 1.19, 0.92, 1.2 + 0.05, 0.85))
                new = f"{a}_adjusted"
                ops.append(f"derive:{new}={a} * {rate}")
                words.append(f"derive {_fld(new)} as {_fld(a)} times {rate}")
                out.fields.append((new, "number"))
                out.ranges[new] = out.ranges.get(a, (0, 100))
            else:
                date = next((n for n, t in out.fields if t == "date"), None)
                ident = next((n for n, t in out.fields if t == "string" and n not in out.values), None)
                old = date or ident
                if old is None:
                    continue
                new = r.choice((f"{old}_ref", f"source_{old}")) if old == ident else r.choice(("booked_on", "event_date", "record_date"))
                ops.append(f"rename:{old}->{new}")
                words.append(f"rename {_fld(old)} to {_fld(new)}")
                out.fields = [(new if n == old else n, t) for n, t in out.fields]
        if not ops:
            f = (nums or [n for n, _ in main.fields])[0]
            ops.append(f"cast:{f}:float")
            words.append(f"cast {_fld(f)} to a decimal")
        detail = _join(words)
        return _Say({"operations": ops}, f"transform {src}: {detail}", detail, detail,
                    f"a cleaned-up copy of the {subj}"), out
    if tool == "data_processing_filter":
        nums = main.numeric()
        f = r.choice(nums)
        lo, hi = main.ranges.get(f, (0, 100))
        integer = dict(main.fields)[f] == "integer"
        v = _num(r, lo, hi, integer)
        cmp_, word = r.choice(((">", "is above"), (">=", "is at least"), ("<", "is below"), ("<=", "is at most")))
        cond, text = f"{f} {cmp_} {v}", f"{_fld(f)} {word} {v}"
        cats = main.categorical()
        if cats and r.random() < 0.35:
            c = r.choice(cats)
            val = r.choice(main.values[c])
            cond += f" and {c} == '{val}'"
            text += f" and {_fld(c)} is {val}"
        return _Say({"condition": cond}, r.choice((f"keep only the rows where {text}", f"filter {src} down to the rows where {text}")),
                    text, text, f"the {subj} entries where {text}"), main.copy(type="records")
    if tool == "data_processing_validator":
        nums = main.numeric()
        ident = next((n for n, t in main.fields if t == "string" and n not in main.values), None) or main.fields[0][0]
        f = r.choice(nums)
        lo, hi = main.ranges.get(f, (0, 100))
        rules: dict[str, Any] = {ident: {"required": True}}
        if r.random() < 0.5:
            rules[f] = {"min": lo if lo < 0 else 0}
            text = f"{_fld(ident)} must be present and {_fld(f)} may not be below {rules[f]['min']}"
        else:
            cap = int(hi * 2) if hi >= 20 else round(hi * 2, 1)
            rules[f] = {"min": lo if lo < 0 else 0, "max": cap}
            text = f"{_fld(ident)} must be present and {_fld(f)} must lie between {rules[f]['min']} and {cap}"
        return _Say({"rules": rules}, f"check every record against the rules ({text})", text, text,
                    f"a quality-checked copy of the {subj}"), main.copy(type="records")
    if tool == "data_processing_aggregator":
        cats = main.categorical() or [n for n, t in main.fields if t == "string"]
        grp = r.choice(cats)
        metric = r.choice(("sum", "sum", "avg", "max", "count"))
        args: dict[str, Any] = {"group_by": [grp], "metric": metric}
        if metric == "count":
            what, col = f"the number of entries per {_fld(grp)}", "count"
        else:
            f = r.choice(main.numeric())
            args["field"] = f
            what, col = _METRIC_WORDS[metric].format(f=_fld(f)) + f" per {_fld(grp)}", f"{metric}_{f}"
        lo, hi = main.ranges.get(args.get("field", ""), (0, 1000))
        out = _Data("summary", [(grp, "string"), (col, "number")], {col: (lo, hi * 50)}, {grp: main.values.get(grp, ())})
        plain = r.choice((f"group {src} by {_fld(grp)} and compute {what.replace(f' per {_fld(grp)}', '')} of each group",
                          f"work out {what}"))
        return _Say(args, plain, what, what, what), out
    if tool == "file_operations_writer":
        ext = main.fmt if main.type == "raw" and main.fmt else r.choice(("csv", "json")) if main.type in ("records", "summary") else "json"
        if "output_path" not in g.inputs:
            g.inputs["output_path"] = _lit_output_path(g, ext)
        mode = r.choice(("overwrite", "append", "create"))
        how = _WRITE_MODES[mode]
        return _Say({"mode": mode}, f"write {src} to the output path, {how}", f", {how}", f"the output path, {how}", ""), \
            _Data("file")
    if tool == "file_operations_converter":
        target = r.choice([f for f in _FORMATS if f != main.fmt])
        return _Say({"target_format": target}, f"convert {src} to {target.upper()}", target.upper(), f"to {target}",
                    f"{_a(target.upper())} copy of the {subj}"), main.copy(fmt=target)
    if tool == "file_operations_compressor":
        alg = r.choice(("gzip", "zip", "zstd", "bzip2"))
        return _Say({"algorithm": alg}, f"compress the saved file with {alg}", alg, alg, ""), _Data("archive")
    if tool == "network_poster":
        within = " within the session" if "session" in ins else ""
        return _Say({}, f"post {src} to the endpoint{within}", " with our login" if within else "", "the endpoint", ""), \
            _Data("response", [("status", "string"), ("receipt_id", "string")], {}, {}, "json")
    if tool == "network_monitor":
        sec = r.choice((15, 30, 60, 120, 300))
        return _Say({"interval_seconds": sec}, f"poll the service behind {src} for availability and latency every {sec} seconds",
                    f"every {sec} seconds", f"every {sec}s", ""), _Data("status")
    if tool == "network_router":
        dest = r.choice(("eu-west", "us-east", "ap-south"))
        strat = r.choice(("round_robin", "least_latency", "failover"))
        where = f"the {dest} region with the {_words(strat)} strategy"
        return _Say({"destination": dest, "strategy": strat}, f"route {src} on to {where}", where, where, ""), \
            main.copy(type="response")
    if tool == "network_validator":
        plain = "verify its status and body" if src == "it" else f"verify the status and body of {src}"
        return _Say({"expected_status": 200}, plain, "", "status 200", ""), \
            main.copy(type="response")
    if tool == "computation_calculator":
        nums = main.numeric()
        a = r.choice(nums)
        kind = r.randrange(4 if len(nums) < 2 else 5)
        aw = _fld(a)
        if kind == 0:
            pct = r.choice((3, 4, 5, 7.5, 12, 15, 18))
            expr, text = f"sum({a}) * {pct / 100:g}", f"{pct:g}% of the total {aw}"
        elif kind == 1:
            expr, text = f"max({a}) - min({a})", f"the range between the highest and lowest {aw}"
        elif kind == 2:
            expr, text = f"sum({a}) / count()", f"the mean {aw} per entry"
        elif kind == 3:
            k = r.choice((1.1, 0.9, 1.25, 0.75, 2))
            expr, text = f"avg({a}) * {k:g}", f"the average {aw} scaled by {k:g}"
        else:
            b = r.choice([n for n in nums if n != a])
            expr, text = f"sum({a}) / sum({b})", f"the ratio of the total {aw} to the total {_fld(b)}"
        return _Say({"expression": expr}, f"calculate {text}", text, text, text), \
            _Data("number", [("result", "number")], {}, {})
    if tool == "computation_analyzer":
        kind = r.choice(("descriptive", "correlation", "trend", "anomaly"))
        nums = main.numeric()
        cols = r.sample(nums, min(len(nums), 2 if kind == "correlation" else r.randint(1, 2)))
        args = {"analysis_type": kind, "columns": cols}
        text = _ANALYSIS_WORDS[kind].format(cols=_join([_fld(c) for c in cols]))
        return _Say(args, f"run {_a(kind)} analysis of {_join([_fld(c) for c in cols])}", text,
                    f"{kind} analysis of {_join([_fld(c) for c in cols])}", text), \
            _Data("analysis", [("finding", "string"), ("strength", "number")], {}, {})
    if tool == "computation_predictor":
        f = r.choice(main.numeric())
        h = r.choice((3, 4, 6, 8, 12))
        text = f"{_fld(f)} for the next {h} periods"
        return _Say({"target": f, "horizon": h}, f"predict {text}", text, text, f"a forecast of {text}"), \
            _Data("forecast", [("period", "integer"), (f"predicted_{f}", "number")], {}, {})
    if tool == "computation_optimizer":
        objective = r.choice(("minimize", "maximize"))
        name, bound, values = r.choice(_LIMITS)
        val = r.choice(values)
        limit = f"{_words(name)} at {'most' if bound == 'max' else 'least'} {val:g}"
        text = f"{'maximises' if objective == 'maximize' else 'minimises'} the outcome with {limit}"
        return _Say({"objective": objective, "constraints": {name: {bound: val}}},
                    f"search for the plan that {text}", text, f"{objective}, {limit}",
                    f"the best plan with {limit}"), \
            _Data("optimum", [("parameter", "string"), ("value", "number")], {}, {})
    if tool == "computation_simulator":
        name, values = r.choice(_SCENARIOS)
        v = r.choice(values)
        runs = r.choice((500, 2000, 5000))
        text = f"a {_words(name)} of {v * 100:+g}%" if name.endswith("shift") else f"a {_words(name)} of {abs(v) * 100:g}%"
        text = f"{text} over {runs} runs"
        return _Say({"scenario": {name: v}, "runs": runs}, f"simulate {text}", text, text,
                    f"a simulation of how {text} would play out"), \
            _Data("simulation", [("scenario", "string"), ("outcome", "number")], {}, {})
    if tool == "integration_connector":
        tgt = g.literal("target_system")
        proto = r.choice(("https", "grpc", "sftp", "amqp"))
        over = f"over {_PROTOCOL_WORDS[proto]}"
        return _Say({"protocol": proto}, f"open a connection to {tgt} {over} within the session", over, f"{tgt} {over}",
                    f"a live link to {tgt}"), \
            _Data("connection")
    if tool == "integration_mapper":
        tgt = g.literal("target_system") if "target_system" in g.inputs else "the target system"
        ident = next((n for n, t in main.fields if t == "string" and n not in main.values), None) or main.fields[0][0]
        cats = main.categorical()
        mapping = {ident: r.choice(("external_ref", "ext_id", "source_key"))}
        if cats:
            c = r.choice(cats)
            mapping[c] = r.choice((f"{c}_code", f"erp_{c}", f"{c}_key"))
        out = main.copy(type="records")
        out.fields = [(mapping.get(n, n), t) for n, t in out.fields]
        out.values = {mapping.get(k, k): v for k, v in out.values.items()}
        out.ranges = {mapping.get(k, k): v for k, v in out.ranges.items()}
        text = _join([f"{_fld(k)} to {_fld(v)}" for k, v in mapping.items()])
        whose = "its fields" if src == "it" else f"the fields of {src}"
        return _Say({"mapping": mapping}, f"map {whose} onto the schema of {tgt} over the connection ({text})",
                    text, text, f"the {subj} in the layout of {tgt}"), out
    if tool == "integration_queue":
        prio = r.randrange(3, 9)
        q = g.literal("queue_name")
        return _Say({"priority": prio}, f"enqueue {src} on the {q} queue at priority {prio}", f"at priority {prio}",
                    f"{q}, at priority {prio}", ""), _Data("queued")
    if tool == "integration_scheduler":
        cron, text = r.choice(_CRONS)
        args = {"cron": cron}
        if r.random() < 0.5:
            args["timezone"] = r.choice(_TIMEZONES)
            text = f"{text} ({args['timezone']} time)"
        what = {"queued": "the processing of the queued work", "file": "the processing of the saved file",
                "connection": "a sync over the connection"}.get(main.type, "it")
        return _Say(args, f"schedule {what} to run {text}", text, text, ""), _Data("job")
    if tool == "utility_logger":
        msg = f"{_cap(_words(g.dom.name))} run for the {g.team}: {r.choice(('completed', 'result ready', 'output produced'))}"
        level = r.choice(("info", "info", "warning"))
        return _Say({"message": msg, "level": level}, f"write a log entry about {src} at {level} level", f"at {level} level",
                    f"at {level} level", ""), _Data("log")
    if tool == "utility_cache":
        key = f"{g.dom.name}:{g.stem}:{g.year}-{g.month:02d}:{r.randrange(100, 1000)}"
        ttl = r.choice((900, 3600, 21600, 86400))
        keep = _TTL_WORDS[ttl]
        return _Say({"key": key, "ttl_seconds": ttl}, f"cache {src} under a key for reuse, {keep}", f", {keep}", keep, ""), \
            main.copy()
    if tool == "utility_tracker":
        ev = f"{g.dom.name}.{r.choice(('stage_done', 'batch_ready', 'milestone', 'handoff'))}"
        return _Say({"event": ev}, f"record a progress event for {src} as the event {ev}", f"as the event {ev}",
                    f"the event {ev}", ""), _Data("event")
    if tool == "utility_notifier":
        msg = f"The {g.team} update on the {subj} is ready."
        channel = r.choice(("email", "slack", "sms", "webhook"))
        way = _CHANNEL_WORDS[channel]
        return _Say({"message": msg, "channel": channel}, f"send {src} to the recipient {way}", way, f"the recipient, {way}", ""), \
            _Data("notification")
    if tool == "utility_helper":
        kind, plain, para = r.choice((
            ("hash", "derive a content hash of {src}", "a content hash (a fingerprint)"),
            ("generate_id", "derive a unique id for {src}", "a unique id (a fresh reference)"),
            ("slugify", "derive a slug from {src}", "a URL-friendly slug (a label safe in a URL)"),
        ))
        return _Say({"operation": kind}, plain.format(src=src), para, kind, ""), _Data("value")
    raise AssertionError(f"no wording for {tool} ({cat}/{op})")  # pragma: no cover


_ALTERNATIVES = re.compile(r"\[([^\[\]]+)\]")


def _expand(template: str, rng: random.Random) -> str:
    """A phrase composed from its parts: each "[a|b|c]" in a template becomes one of its alternatives."""
    return _tidy(_ALTERNATIVES.sub(lambda m: rng.choice(m.group(1).split("|")), template))


def _tidy(text: str) -> str:
    """One space between words, none before a comma, none at the ends (an empty part leaves gaps)."""
    return re.sub(r" {2,}", " ", text).replace(" ,", ",").replace(" :", ":").strip()


def _refer(k: int, tool: str, feeds: dict[str, int | str], chain: list[tuple[str, dict[str, int | str]]],
           datas: list[_Data]) -> str:
    """How step k's wording names the handle its main input takes: "it" only when that is the step just
    before and no other earlier output fits the parameter's type; otherwise the producing step's output
    by name ("the parsed records"), so no pronoun could mean two handles."""
    main = _main_param(tool)
    mv = feeds.get(main or "")
    if not isinstance(mv, int):
        return "it"
    accepts = next(p.accepts for p in TOOLS[tool].data_params if p.name == main) or ()
    fits = [j for j in range(k) if ANY in accepts or datas[j].type in accepts]
    if fits == [mv] and mv == k - 1:
        return "it"
    return _REF[chain[mv][0]]


def _outcomes(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return "first " + "; then ".join(parts[:-1]) + "; and last " + parts[-1]


def _takes(feeds: tuple[tuple[str, int | str], ...], tool: str, step_no: dict[int, int]) -> str:
    """very_easy: what a step is called on, e.g. 'the result of step 2, writing to the output path (`output_path`)'."""
    head: list[str] = []
    tail: list[str] = []
    main = _main_param(tool)
    for param, src in feeds:
        if isinstance(src, int):
            if param == main:
                head.append(f"the result of step {step_no[src]}")
            elif param == "session":
                tail.append(f"within the session from step {step_no[src]}")
            elif param == "connection":
                tail.append(f"using the connection from step {step_no[src]}")
            elif param == "input":  # the connector's session
                head.append(f"the session from step {step_no[src]}")
            else:  # pragma: no cover
                tail.append(f"with `{param}` from step {step_no[src]}")
        else:
            text = _ROLE_TAKES[src]
            (head if src in ("source_path", "source_directory", "source_url", "service") else tail).append(text)
    if tool == _AUTH:
        return "the service (`service`) with the credential (`credential`)"
    return _join(head) + ("" if not tail else ", " + ", ".join(tail))


def _arg_text(args: dict[str, Any]) -> str:
    if not args:
        return ""
    return "; set " + _join([f"`{k}` to {_json(v)}" for k, v in args.items()])


def _json(v: Any) -> str:
    if isinstance(v, str) and '"' not in v and "\\" not in v:
        return f'"{v}"'
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return json.dumps(v)


def _steps_frames(phrases: list[str]) -> dict[str, str]:
    n = len(phrases)
    if n <= 2:
        then = ", then ".join(phrases)
    else:
        then = ", then ".join(phrases[:-1]) + ", and finally " + phrases[-1]
    semi = "; ".join([*(phrases[:-1]), ("finally " if n > 2 else "then ") + phrases[-1]]) if n > 1 else phrases[0]
    comma = _join(phrases)
    return {"steps_then": then, "Steps_then": _cap(then), "steps_semi": semi, "steps_comma": comma}


def _describe(g: _Gen, chain: list[tuple[str, dict[str, int | str]]]) -> tuple[str, tuple[TaskStep, ...], tuple[str, ...]]:
    r = g.rng
    datas: list[_Data] = []
    says: list[_Say] = []
    steps: list[TaskStep] = []
    refs: list[str] = []
    for k, (tool, feeds) in enumerate(chain):
        ins = {p: datas[v] for p, v in feeds.items() if isinstance(v, int)}
        src = _refer(k, tool, feeds, chain, datas)
        refs.append(src)
        say, out = _say_step(g, tool, ins, src)
        for role in (v for v in feeds.values() if isinstance(v, str)):
            g.literal(role)
        datas.append(out)
        says.append(say)
        pos = _PARAM_POS[tool]
        ordered = tuple(sorted(feeds.items(), key=lambda kv: pos[kv[0]]))
        checked = tuple(k_ for k_ in _CHECKED.get(tool, ()) if k_ in say.args)
        steps.append(TaskStep(tool, ordered, tuple(say.args.items()), checked))

    n = len(steps)
    step_no = {i: i + 1 for i in range(n)}
    tools = [s.tool for s in steps]
    final = tools[-1]

    # The outcome: what the last step that makes something of the data yields; the destination: where it ends up.
    outcome = next((s.outcome for s in reversed(says) if s.outcome), f"the {g.subject}")
    dest_t = r.choice(_DESTINATIONS.get(final, ("",)))
    fmt_vals = {
        "recipient": g.inputs.get("recipient", "the recipient"), "target": g.inputs.get("target_system", "the target system"),
        "cron": says[-1].detail, "region": steps[-1].args and dict(steps[-1].args).get("destination", ""),
        "helper": _HELPER_WORDS.get(str(dict(steps[-1].args).get("operation", "")), ""),
    }
    dest = dest_t.format(**fmt_vals) if dest_t else ""
    if says[-1].outcome and dest:
        dest = ""  # the final step is the point of the work
    has_source = any(t in ("file_operations_reader", "file_operations_scanner", "network_fetcher") for t in tools)
    source = f" from the {g.subject}" if has_source and g.subject not in outcome else ""
    goal = r.choice(_GOAL_FRAMES).format(team=g.team, outcome=outcome, source=source)

    # very_easy
    lines = []
    for i, (s, say) in enumerate(zip(steps, says)):
        lines.append(f"{i + 1}. Call `{s.tool}` on {_takes(s.feeds, s.tool, step_no)}{_arg_text(say.args)}.")
    very_easy = r.choice(_VE_FRAMES).format(goal=goal, steps="\n".join(lines), n=n)
    # easy
    listed = []
    for t, say, ref in zip(tools, says, refs):
        notes = [n for n in (say.note, "" if ref == "it" else f"on {ref}") if n]
        listed.append(f"`{t}`" + (f" ({', '.join(notes)})" if notes else ""))
    easy = r.choice(_EASY_FRAMES).format(goal=goal, tools=_join(listed))
    # medium
    plains = [say.plain if ref == "it" or ref in say.plain else f"{say.plain} (from {ref})" for say, ref in zip(says, refs)]
    medium = r.choice(_MEDIUM_FRAMES).format(goal=goal, **_steps_frames(plains))
    # hard and very_hard: every step stated by its effect and settings, in order; an earlier output is
    # named whenever "it" could mean two handles
    paras, outcomes = [], []
    phrasings: list[tuple[str, str]] = []  # per step: the hard and very_hard phrasing, before the values
    for k, (s_, say) in enumerate(zip(steps, says)):
        main = _main_param(s_.tool)
        mv = dict(s_.feeds).get(main or "")
        fmt = (datas[mv].fmt or "").upper() if isinstance(mv, int) and datas[mv].fmt else g.source_format.upper()
        named = refs[k] if refs[k] != "it" or not isinstance(mv, int) else _REF[steps[mv].tool]
        values = dict(d=say.detail, fmt=fmt, subject=g.subject, service=g.inputs.get("service", "the service"),
                      target=g.inputs.get("target_system", "the target system"), queue=g.inputs.get("queue_name", "task's"))
        key = s_.tool + ("@listed" if s_.tool == "file_operations_reader" and isinstance(mv, int) else "")
        options = _HARD[key] if refs[k] == "it" else tuple(p for p in _HARD[key] if "{src}" in p) or _HARD[key]
        phrasings.append((_expand(r.choice(options), r), _expand(r.choice(_VH[key]), r)))
        paras.append(_tidy(phrasings[-1][0].format(src=refs[k], **values)))
        outcomes.append(_tidy(phrasings[-1][1].format(src=named, **values)))
    hard = r.choice(_HARD_FRAMES).format(goal=goal, **_steps_frames(paras))
    very_hard = r.choice(_VERY_HARD_FRAMES).format(team=g.team, outcomes=_outcomes(outcomes))
    stated = {"easy": listed, "medium": plains, "hard": paras, "very_hard": outcomes,
              "hard_phrasing": [h for h, _ in phrasings], "very_hard_phrasing": [v for _, v in phrasings]}
    g.stated = stated
    return goal, tuple(steps), (very_easy, easy, medium, hard, very_hard)


# --------------------------------------------------------------------------- generation


def _pick_fields(rng: random.Random, dom: _Domain) -> tuple[tuple[tuple[str, str], ...], dict[str, tuple[float, float]],
                                                             dict[str, tuple[str, ...]]]:
    n_cats = rng.randint(1, 2)
    n_nums = rng.randint(2, 4)
    with_date = rng.random() < 0.7
    cats = rng.sample(dom.cats, n_cats)
    nums = rng.sample(dom.nums, min(n_nums, len(dom.nums)))
    fields: list[tuple[str, str]] = [(dom.id_field, "string")]
    if with_date:
        fields.append((dom.date_field, "date"))
    fields += [(c, "string") for c, _ in cats]
    fields += [(n, t) for n, t, _, _ in nums]
    while len(fields) < 5:
        extra = next(x for x in dom.nums if x[0] not in dict(fields))
        fields.append((extra[0], extra[1]))
        nums.append(extra)
    ranges = {n: (lo, hi) for n, _, lo, hi in nums}
    values = dict(cats)
    return tuple(fields), ranges, values


@lru_cache(maxsize=65536)
def generate_instance(task_type: str, index: int, seed: int = DEFAULT_SEED) -> TaskInstance:
    """Build instance `index` of `task_type`; the same arguments always give the same instance."""
    return _generate(task_type, index, seed)[0]


def step_phrases(task_type: str, index: int, seed: int = DEFAULT_SEED) -> dict[str, list[str]]:
    """difficulty -> the words that state each step, in step order (easy, medium, hard, very_hard), as
    the generator wrote them into the descriptions: what the derivability check (`derivable.py`) reads."""
    return _generate(task_type, index, seed)[1]


def _generate(task_type: str, index: int, seed: int) -> tuple[TaskInstance, dict[str, list[str]]]:
    if task_type not in LENGTHS:
        raise ValueError(f"unknown task type {task_type!r}; choose from {', '.join(TASK_TYPES)}")
    if index < 0:
        raise ValueError(f"instance index must be >= 0, got {index}")
    rng = random.Random(f"pilotbench-task:{GENERATOR_VERSION}:{seed}:{task_type}:{index}")
    chain = _walk(task_type, rng)
    dom = rng.choice(_DOMAINS)
    tools = [t for t, _ in chain]
    fmt = "json" if "network_fetcher" in tools else rng.choices(_FORMATS, _FORMAT_WEIGHTS)[0]
    fields, ranges, values = _pick_fields(rng, dom)
    g = _Gen(rng, dom, fmt)
    g.src = _Data("records", list(fields), ranges, values, fmt)  # type: ignore[attr-defined]
    goal, steps, descriptions = _describe(g, chain)
    stated = g.stated
    constraints = tuple(rng.sample(_CONSTRAINTS, 2))
    needed = dict(g.inputs)
    free = [r for r in _DECOY_ROLES if r not in needed]
    # Every role is declared, the unneeded ones as decoys: the Inputs say nothing about the workflow
    # (which source, which destinations); only the text does.
    decoys = {role: g.literal(role) for role in free}
    g.inputs = needed
    return TaskInstance(
        id=f"{task_type}-{seed}-{index:05d}",
        task_type=task_type,
        index=index,
        domain=dom.name,
        goal=goal,
        inputs=dict(sorted(g.inputs.items())),
        decoys=decoys,
        steps=steps,
        constraints=constraints,
        descriptions=descriptions,
        fields=fields,
        source_format=fmt,
    ), stated


_PROBE_INSTANCES = 20
# Every literal role: a task declares them all, the ones it does not need as decoys, so its Inputs line is
# the same set of roles for every task and says nothing about the workflow.
_DECOY_ROLES = ("source_path", "source_directory", "source_url", "service", "credential", "target_system",
                "output_path", "recipient", "queue_name", "endpoint")
