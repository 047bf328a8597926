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
from .toolkit import on_change, tool_entry
from .toolkit.base import _cap, _Data, _join, _Say
from .tools import ANY, SAME, TOOLS
from .types import DIFFICULTIES, TASK_TYPES, FrozenDict, freeze
from .walk import _AUTH, _PARAM_POS, LENGTHS, _main_param, _walk
from .wording import (
    _CHECKED,
    _DESTINATIONS,
    _EASY_FRAMES,
    _GOAL_FRAMES,
    _HARD,
    _HARD_FRAMES,
    _MEDIUM_FRAMES,
    _REF,
    _ROLE_TAKES,
    _VE_FRAMES,
    _VERY_HARD_FRAMES,
    _VH,
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

    def __post_init__(self) -> None:
        # Settings may be lists and dicts (a validator's rules): frozen, so a step can be hashed and a
        # caller cannot change the cached task under every other reader.
        object.__setattr__(self, "feeds", tuple((str(k), v) for k, v in self.feeds))
        object.__setattr__(self, "args", tuple((str(k), freeze(v)) for k, v in self.args))
        object.__setattr__(self, "checked", tuple(self.checked))

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
    decoys: dict[str, str] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        # Shared through generate_instance's cache: read-only all the way down, and hashable.
        object.__setattr__(self, "inputs", FrozenDict(self.inputs))
        object.__setattr__(self, "decoys", FrozenDict(self.decoys))
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "constraints", tuple(self.constraints))
        object.__setattr__(self, "descriptions", tuple(self.descriptions))
        object.__setattr__(self, "fields", tuple((str(n), str(t)) for n, t in self.fields))

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

    def make_literal(self, role: str, *how: Any) -> str:
        """A new value for a literal role, made the way `how` says (a writer's output path: its extension)."""
        return _LITERALS[role](self, *how)


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
    """Wording and settings of one step, and what its output holds. `ins`: data param -> what it receives.
    Each tool words its own steps (`Tool.say`, in its module of ``toolkit/``)."""
    return tool_entry(tool).say(g, ins, src)


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
    }
    words = tool_entry(final).destination_words  # the final tool's own slots (a schedule, a region, ...)
    if words is not None:
        fmt_vals.update(words(dict(steps[-1].args), says[-1]))
    dest = dest_t.format(**fmt_vals) if dest_t else ""
    if says[-1].outcome and dest:
        dest = ""  # the final step is the point of the work
    has_source = any(tool_entry(t).source for t in tools)
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
        fed = isinstance(mv, int) and tool_entry(s_.tool).fed_hard is not None  # a first tool taking an earlier output
        key = s_.tool + ("@listed" if fed else "")
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


on_change(generate_instance.cache_clear)  # the tools registered make the suite: a change makes another


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
    fixed = next((tool_entry(t).source_format for t in tools if tool_entry(t).source_format), None)  # a download: JSON
    fmt = fixed or rng.choices(_FORMATS, _FORMAT_WEIGHTS)[0]
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
