"""The simulated model itself: what it decides to do on reading a task, and how it acts on it turn by turn."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ...benchmark.protocol import FINAL_MARKER, TOOL_CALL_CLOSE, TOOL_CALL_OPEN
from ...benchmark.types import Message, ModelOutput, ToolCall, ToolSchema, Usage
from ...errors import ProviderError
from ..base import ModelRequest
from . import reading
from .history import _history, _text, forget_history
from .lexicon import ANY, SAME, Lexicon, ParamView, ToolView, _lexicon_for, _stems
from .skills import Skill
from .task import (_DEPS_PART, _STEP_LINE, _STEP_REF, Intent, Step, _ARGS_PART, _INPUTS_PART, _Mention,
                   _feeders, _read_mentions, _referred, _satisfied, _split_user, _type_order, _windows)

_RANDOM_FAILURES = frozenset({"OPERATION_FAILED", "TIMEOUT", "FILE_NOT_FOUND", "PERMISSION_DENIED", "NETWORK_ERROR",
                              "INVALID_RESPONSE", "CALCULATION_ERROR", "OVERFLOW"})
# How sure a model is that the task asks for a tool, by how it saw it (used to weigh a plan against it).
_EVIDENCE = {"name": 1.0, "verb": 0.7, "phrase": 0.5, "input": 0.5, "goal": 0.3, "gap": 0.3}
_WRONG_FIELD: dict[str, Any] = {  # a setting that names a field the data does not have
    "condition": "total_value > 0", "expression": "sum(total_value)", "operations": ["cast:total_value:float"],
    "rules": {"total_value": {"required": True}}, "mapping": {"total_value": "total_ref"},
    "group_by": ["total_value"], "field": "total_value", "target": "total_value",
}


def _wrong_fields(view: ToolView) -> dict[str, Any]:
    """The settings of an offered tool a weak model can name a missing field in, with what it then puts
    there, in the order it picks the first: the ones `_WRONG_FIELD` names, then any other required
    setting whose schema says it takes existing fields (so a tool it knows only from the schema it is
    offered gets the same mistakes; it reads nothing but that schema)."""
    out = dict(_WRONG_FIELD)
    for p in view.params:
        if (p.name not in out and p.required and p.accepts is None and not p.literal and p.type in ("string", "array")
                and p.description.lower().startswith("existing field")):
            out[p.name] = ["total_value"] if p.type == "array" else "total_value"
    return out
_REFUSED = re.compile(r"parameter '(\w+)'")  # "unknown parameter 'data'", "parameter 'condition': ..."


# --------------------------------------------------------------------------- the model


@dataclass(slots=True)
class _Done:
    handle: str
    type: str
    summary: dict[str, Any]


@dataclass(slots=True)
class _State:
    """What the conversation so far tells the model: its steps' results and every handle seen."""

    done: dict[int, _Done]
    attempts: dict[int, list[tuple[str | None, str, dict[str, Any] | None]]]  # (error code, message, args)
    seen: list[_Done]


_INTENTS_MAX = 1024  # per model; see _HISTORIES_MAX


class SimulatedModel:
    """One skill profile. `respond()` is the whole model: messages and tools in, one reply out."""

    kind = "simulated"

    def __init__(self, name: str, skill: Skill) -> None:
        self.name = name
        self.skill = skill
        self._intents: OrderedDict[str, Intent] = OrderedDict()

    def _rng(self, digest: str, key: str) -> random.Random:
        return random.Random(f"{self.name}|{digest}|{key}")

    def _chance(self, digest: str, key: str, p: float) -> bool:
        if p <= 0.0:
            return False
        if p >= 1.0:
            return True
        return self._rng(digest, key).random() < p

    # ------------------------------------------------------------------ reading

    def _own_reading(self, digest: str, text: str, inputs: dict[str, str], lex: Lexicon, cot: bool
                     ) -> tuple[list[str], dict[str, str], dict[str, str]]:
        """The tools it sees the task asking for, in the order it would run them, how it saw each, and the
        stretch of text that describes each (its settings are read from there)."""
        skill = self.skill
        bonus = skill.cot_bonus if cot else 0.0
        p = {"name": skill.recognize_name, "verb": skill.recognize_verb + bonus,
             "phrase": skill.recognize_phrase + bonus, "input": skill.recognize_goal + bonus,
             "goal": skill.recognize_goal + bonus,
             "gap": skill.recognize_goal + bonus}
        chosen: list[str] = []
        position: dict[str, float] = {}
        how: dict[str, str] = {}

        def take(m: _Mention) -> None:
            tool = m.tool
            if not self._chance(digest, f"see:{tool}:{m.kind}", p[m.kind]):
                return
            if m.kind != "name" and self._chance(digest, f"wrong:{tool}", skill.wrong_tool):
                siblings = [t for t in lex.tools if lex.tools[t].category == lex.tools[tool].category and t != tool]
                alt = m.alt if m.alt and m.alt in lex.tools else None
                pool = [alt] if alt else siblings
                if pool:
                    tool = self._rng(digest, f"which:{tool}").choice(pool)
            if tool not in chosen:
                chosen.append(tool)
                position[tool] = m.pos
                how[tool] = m.kind

        for m in _read_mentions(text, lex):
            take(m)
        # The task's declared inputs point at the tools that take them: a source always (the work starts
        # from it), a destination only when the text refers to it, by name or by value (a task may list
        # inputs it does not need).
        end = float(len(text) + 1)
        lowered = text.lower()
        for role in sorted(inputs):
            tools = [t for t in lex.role_index.get(role, ()) if t not in chosen]
            if len(lex.role_index.get(role, ())) == 1 and tools:
                # Every task declares every role: an input points at a tool only when the text refers to it.
                source = role.startswith("source") or role in ("service", "credential")
                # "service" is too common a word ("the service desk leads"): a service is named by its name.
                words = role.replace("_", " ") if role != "service" else "\0"
                named = words in lowered or str(inputs[role]).lower() in lowered
                if named:
                    # where the text names it (so the step's settings are read from there), else first/last
                    at = lowered.find(words) if words in lowered else lowered.find(str(inputs[role]).lower())
                    take(_Mention(tools[0], "input", -1.0 if source else float(at) if at >= 0 else end))
        # A step whose input nothing chosen produces: the tool that makes that type, if the model sees it.
        for _ in range(3):
            added = False
            for t in list(chosen):
                v = lex.tools[t]
                for prm in v.data_params:
                    if not prm.required or ANY in (prm.accepts or ()) or _satisfied(v, prm, chosen, lex, inputs):
                        continue
                    makers = [u for u in lex.tools if u not in chosen and lex.tools[u].output in (prm.accepts or ())]
                    makers = [u for u in makers if all(
                        not q.required or ANY in (q.accepts or ()) or _satisfied(lex.tools[u], q, chosen + [u], lex, inputs)
                        for q in lex.tools[u].data_params)] or makers
                    if not makers:
                        continue
                    known = lex.expand(set(_stems(text)))
                    makers.sort(key=lambda u: (-len(lex.tools[u].vocab & known), lex.order[u]))
                    before = len(chosen)
                    take(_Mention(makers[0], "gap", position[t] - 0.5))
                    added = added or len(chosen) > before
            if not added:
                break
        windows = _windows(text, position)
        if chosen and self._chance(digest, "order", skill.type_order):
            return _type_order(chosen, position, lex, inputs), how, windows
        return sorted(chosen, key=lambda t: position[t]), how, windows

    def _plan_steps(self, plan_text: str, lex: Lexicon) -> list[Step]:
        steps = []
        for m in _STEP_LINE.finditer(plan_text):
            number, tool, rest = int(m.group(1)), m.group(2), m.group(3)
            inputs: list[tuple[str, Any]] = []
            im = _INPUTS_PART.search(rest)
            if im and im.group(1) != "none":
                for item in im.group(1).split("; "):
                    k, sep, v = item.partition("=")
                    if sep:
                        ref = _STEP_REF.match(v.strip())
                        inputs.append((k.strip(), ("step", int(ref.group(1))) if ref else ("value", v.strip())))
            args: dict[str, Any] = {}
            am = _ARGS_PART.search(rest)
            if am and am.group(1) != "none":
                try:
                    parsed = json.loads(am.group(1))
                    args = parsed if isinstance(parsed, dict) else {}
                except ValueError:
                    args = {}
            dm = _DEPS_PART.search(rest)
            depends = tuple(int(d) for d in re.findall(r"step (\d+)", dm.group(1))) if dm else ()
            steps.append(Step(tool, tuple(inputs), tuple(args.items()), number, depends))
        return steps

    def _plan_flaws(self, plan: list[Step], plan_text: str, own: list[str], how: dict[str, str], text: str,
                    inputs: dict[str, str], lex: Lexicon) -> list[float]:
        """Signs of a flaw, each weighted by how sure the model can be of it: 1.0 for what the schemas prove
        (a wrong-typed or later input, an unknown parameter, a literal the task does not name), less for a
        disagreement with its own reading, as much as that reading rests on explicit words in the task."""
        hard = 0
        signs: list[float] = []
        numbers = {s.number: s for s in plan}
        types: dict[int, str] = {}
        text_words = set(_stems(text))
        input_values = set(inputs.values())
        for s in plan:
            v = lex.tools.get(s.tool)
            if v is None:
                hard += 1
                continue
            names = {p.name for p in v.params}
            if any(k not in names for k, _ in s.inputs) or any(k not in names for k, _ in s.args):
                hard += 1
            if any(d >= s.number for d in s.depends):
                hard += 1
            src_type = None
            for k, (kind, ref) in s.inputs:
                p = v.param(k)
                if kind == "step":
                    if ref >= s.number or ref not in numbers or (s.depends and ref not in s.depends):
                        hard += 1
                        continue
                    t = types.get(ref)
                    if p is not None and p.accepts and t and ANY not in p.accepts and t not in p.accepts:
                        hard += 1
                    if k in ("input", "path"):
                        src_type = t
                elif p is not None and p.literal and ref not in input_values:
                    hard += 1
            for p in v.data_params:
                if p.required and not any(k == p.name for k, _ in s.inputs):
                    hard += 1
            types[s.number] = (src_type or "records") if v.output == SAME else v.output
        tools = [s.tool for s in plan]
        if len(set(tools)) < len(tools):
            hard += 1
        explicit = sum(1 for t in own if how.get(t) in ("name", "verb", "phrase")) / max(1, len(own))
        signs.extend(explicit * 0.6 for t in set(tools) if t not in own)
        signs.extend(_EVIDENCE[how.get(t, "gap")] for t in own if t not in tools)
        # A goal or purpose that is not the task's: words that neither the task nor the tool's description use.
        for line in plan_text.splitlines():
            if line.startswith("Goal: "):
                words = set(_stems(line[6:]))
                foreign = words - text_words
                if len(foreign) >= 3:  # a goal mostly in other words than the task's is not the task's goal
                    signs.append(1.0 if len(foreign) > 0.4 * len(words) else 0.3)
        for s in plan:
            m = re.search(rf"^Step {s.number}: \S+ - (.*?)\. Inputs:", plan_text, re.M)
            if m and s.tool in lex.tools:
                foreign = set(_stems(m.group(1))) - text_words - lex.tools[s.tool].vocab
                if len(foreign) >= 3:
                    signs.append(0.5)
        return signs + [1.0] * hard

    def _intent(self, digest: str, user: str, lex: Lexicon) -> Intent:
        cached = self._intents.get(digest + lex.digest)
        if cached is not None:
            return cached
        text, inputs, plan_text, cot = _split_user(user)
        own, how, windows = self._own_reading(digest, text, inputs, lex, cot)
        steps = [Step(t, text=windows.get(t, "")) for t in own]
        from_plan = False
        plan = self._plan_steps(plan_text, lex) if plan_text else []
        if plan and self._chance(digest, "trust", self.skill.plan_trust):
            signs = self._plan_flaws(plan, plan_text, own, how, text, inputs, lex)
            # More evidence makes a flaw likelier to be noticed, up to two clear signs' worth.
            unnoticed = (1 - self.skill.flaw_detection) ** min(sum(signs), 2.0)
            if not signs or not self._chance(digest, "notice", 1 - unnoticed):
                steps = [s for s in plan if s.tool in lex.tools]  # a tool not offered cannot be called
                from_plan = True
        tools = [s.tool for s in steps]
        feeders = _feeders(tools, lex)
        if not from_plan:
            feeders = _referred(steps, feeders, lex)
        intent = Intent(tuple(steps), feeders, inputs, cot, from_plan)
        self._intents[digest + lex.digest] = intent
        if len(self._intents) > _INTENTS_MAX:
            self._intents.popitem(last=False)
        return intent

    # ------------------------------------------------------------------ replaying the conversation

    def _replay(self, intent: Intent, digest: str, history: list[tuple[str, dict | None, dict]]) -> _State:
        state = _State({}, {}, [])
        for tool, args, obs in history:
            index = None
            for i, s in enumerate(intent.steps):
                if s.tool == tool and i not in state.done and not self._gave_up(intent, digest, state, i):
                    index = i
                    break
            handle = obs.get("handle")
            if obs.get("status") == "success" and isinstance(handle, str) and handle:
                summary = obs.get("summary")
                done = _Done(handle, str(obs.get("type") or ""), summary if isinstance(summary, dict) else {})
                state.seen.append(done)
                if index is not None:
                    state.done[index] = done
            elif index is not None:
                code = obs.get("error_code")
                state.attempts.setdefault(index, []).append(
                    (code if isinstance(code, str) else None, str(obs.get("message") or ""), args))
        return state

    def _gave_up(self, intent: Intent, digest: str, state: _State, i: int) -> bool:
        tries = state.attempts.get(i)
        if not tries:
            return False
        if len(tries) >= self.skill.max_attempts:
            return True
        code = tries[-1][0]
        if code in _RANDOM_FAILURES:
            return not self._chance(digest, f"retry:{i}:{len(tries)}", self.skill.retry)
        return False

    # ------------------------------------------------------------------ arguments

    def _data_value(self, p: ParamView, i: int, intent: Intent, state: _State) -> tuple[str | None, _Done | None]:
        feeder = dict(intent.feeders[i]).get(p.name) if i < len(intent.feeders) else None
        ok = (lambda d: ANY in (p.accepts or ()) or d.type in (p.accepts or ()))
        if feeder is not None and feeder in state.done and ok(state.done[feeder]):
            return state.done[feeder].handle, state.done[feeder]
        for d in reversed(state.seen):
            if ok(d):
                return d.handle, d
        if p.literal and p.literal in intent.inputs:
            return intent.inputs[p.literal], None
        return None, None

    def _settings(self, view: ToolView, source: _Done | None, state: _State, step: int) -> dict[str, Any]:
        summary = source.summary if source is not None else {}
        fields = summary.get("fields") if isinstance(summary.get("fields"), dict) else None
        if not fields:
            fields = next((d.summary["fields"] for d in reversed(state.seen)
                           if isinstance(d.summary.get("fields"), dict) and d.summary["fields"]), {})
        numeric = [f for f, t in fields.items() if t in ("number", "integer")]
        strings = [f for f, t in fields.items() if t == "string"]
        num = numeric[0] if numeric else "value"
        txt = next((f for f in strings if not f.endswith("id")), strings[0] if strings else (next(iter(fields), "id")))
        fmt = summary.get("format")
        out: dict[str, Any] = {}
        for p in view.params:
            if not p.required or p.accepts is not None or p.literal:
                continue
            name, desc = p.name, p.description.lower()
            if p.enum:
                if "must match the format" in desc or name == "format":
                    out[name] = fmt if fmt in p.enum else p.enum[0]
                elif "must differ" in desc or name == "target_format":
                    out[name] = next((e for e in p.enum if e != fmt), p.enum[0])
                else:
                    out[name] = {"metric": "sum", "objective": "maximize"}.get(name, p.enum[0])
            elif name == "condition":
                out[name] = f"{num} > 0"
            elif name == "expression":
                out[name] = f"sum({num})"
            elif name == "operations":
                out[name] = [f"cast:{num}:float"]
            elif name == "rules":
                out[name] = {num: {"required": True}}
            elif name == "mapping":
                out[name] = {txt: f"{txt}_ref"}
            elif name == "scenario":
                out[name] = {"price_change": 0.05}
            elif name == "cron" or "cron" in desc:
                out[name] = "0 6 * * 1"
            elif p.type == "array":
                out[name] = [txt] if "field" in desc else []
            elif "numeric field" in desc or name in ("field", "target"):
                out[name] = num
            elif "letters, digits" in desc:
                out[name] = f"{view.operation}.step{step + 1}"
            elif p.type == "string":
                out[name] = f"{view.operation} step {step + 1} finished"
            elif p.type in ("integer", "number"):
                out[name] = p.minimum if p.minimum is not None else 1
            elif p.type == "boolean":
                out[name] = True
            else:
                out[name] = {}
        if view.operation == "aggregator" and "field" in {p.name for p in view.params} and out.get("metric") != "count":
            out["field"] = num
        return out

    def _read_settings(self, step: Step, view: ToolView, source: _Done | None, state: _State) -> dict[str, Any]:
        """The settings the step's stretch of text states, each read right with the skill's probability."""
        summary = source.summary if source is not None else {}
        fields = summary.get("fields") if isinstance(summary.get("fields"), dict) else None
        if not fields:
            fields = next((d.summary["fields"] for d in reversed(state.seen)
                           if isinstance(d.summary.get("fields"), dict) and d.summary["fields"]), {})
        found = reading.read(step.text, view.params, {str(k): str(v) for k, v in fields.items()})
        rng = random.Random(f"{self.name}|read|{step.tool}|{step.text}")
        return {k: v for k, v in found.items() if rng.random() < self.skill.read_setting}

    def _arguments(self, lex: Lexicon, intent: Intent, state: _State, i: int, use_plan: bool) -> dict[str, Any] | None:
        """The call for step i; None when a required input has no source at all."""
        step = intent.steps[i]
        view = lex.tools[step.tool]
        args: dict[str, Any] = {}
        source: _Done | None = None
        plan_inputs = dict(step.inputs) if use_plan else {}
        for p in view.params:
            if p.accepts is None and not p.literal:
                continue
            if use_plan and step.inputs:
                continue
            if p.accepts is not None:
                value, done = self._data_value(p, i, intent, state)
                if value is None:
                    if p.required:
                        return None
                    continue
                if p.name in ("input", "path") or source is None:
                    source = done if done is not None else source
                args[p.name] = value
            elif p.literal in intent.inputs:
                args[p.name] = intent.inputs[p.literal]
            elif p.required:
                return None
        if use_plan and step.inputs:
            by_number = {s.number: k for k, s in enumerate(intent.steps)}
            for k, (kind, ref) in plan_inputs.items():
                if kind == "step":
                    j = by_number.get(ref)
                    d = state.done.get(j) if j is not None else None
                    if d is None:  # the plan points at a step not run yet: a literal follower passes the reference
                        args[k] = f"<handle from step {ref}>"
                        continue
                    args[k] = d.handle
                    if k in ("input", "path") or source is None:
                        source = d
                else:
                    args[k] = ref
        settings = self._settings(view, source, state, i)
        if step.text:
            settings.update(self._read_settings(step, view, source, state))
        if use_plan:
            settings.update(dict(step.args))
        for k, v in settings.items():
            args.setdefault(k, v)
        return args

    def _repair(self, last: dict[str, Any] | None, message: str, lex: Lexicon, intent: Intent, state: _State,
                i: int) -> dict[str, Any] | None:
        """Arguments mended after INVALID_INPUT by reading its message: an unknown parameter is dropped, the
        parameter the message names gets the model's own value, and so does any required one now missing."""
        own = self._arguments(lex, intent, state, i, False)
        if own is None or last is None:
            return own
        view = lex.tools[intent.steps[i].tool]
        names = {p.name for p in view.params}
        fixed = {k: v for k, v in last.items() if k in names}
        named = _REFUSED.search(message)
        if named is None:  # a message it cannot place: start again from its own arguments
            return own
        if named.group(1) in own:
            fixed[named.group(1)] = own[named.group(1)]
        else:  # an optional setting it would not have given: leave it out
            fixed.pop(named.group(1), None)
        for p in view.params:
            if p.required and p.name not in fixed and p.name in own:
                fixed[p.name] = own[p.name]
        return fixed

    def _corrupt(self, args: dict[str, Any], view: ToolView, rng: random.Random) -> dict[str, Any]:
        """An argument error: a required argument left out, a field the data lacks, or an invented handle."""
        args = dict(args)
        kinds = []
        required = [p.name for p in view.params if p.required and p.name in args]
        if required:
            kinds.append("drop")
        wrong = _wrong_fields(view)
        if any(k in args for k in wrong):
            kinds.append("field")
        if any(p.accepts is not None and p.name in args for p in view.params):
            kinds.append("handle")
        if not kinds:
            return args
        kind = rng.choice(kinds)
        if kind == "drop":
            del args[rng.choice(required)]
        elif kind == "field":
            key = next(k for k in wrong if k in args)
            args[key] = wrong[key]
        else:
            name = next(p.name for p in view.params if p.accepts is not None and p.name in args)
            args[name] = f"h_{rng.getrandbits(32):08x}"
        return args

    # ------------------------------------------------------------------ acting

    def respond(self, messages: list[Message], tools: list[ToolSchema] | None, params: dict | None = None) -> ModelOutput:
        system = next((_text(m) for m in messages if m.get("role") == "system"), "")
        user = next((_text(m) for m in messages if m.get("role") == "user"), "")
        text_mode = tools is None
        lex = _lexicon_for(tools, system)
        digest = hashlib.blake2b(f"{user}\x00{text_mode}\x00{lex.signature}".encode(), digest_size=12).hexdigest()
        intent = self._intent(digest, user, lex)
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        prompt_tokens = sum(len(_text(m)) for m in messages) // 4 + (3000 if tools else 0)
        skill = self.skill

        if self._chance(digest, f"format:{turn}", skill.format_error):
            return self._malformed(text_mode, turn, prompt_tokens, intent.steps[0].tool if intent.steps else "")

        state = self._replay(intent, digest, _history(messages, text_mode, tag=digest + lex.digest))
        reply = self._next(text_mode, turn, prompt_tokens, digest, intent, state, lex)
        if reply.finish_reason == "stop" and not reply.tool_calls and FINAL_MARKER in (reply.content or ""):
            # The conversation is over: what was kept for its next turn goes (memory stays flat over a
            # long run); should it go on all the same, it is rebuilt from the messages, identically. The
            # reading of the task stays (a bounded cache per prompt, _INTENTS_MAX): the same prompt comes
            # back for every model run, tool success rate and instance attempt, and reading it again
            # costs a millisecond each time.
            forget_history(messages)
        return reply

    def _next(self, text_mode: bool, turn: int, prompt_tokens: int, digest: str,
              intent: Intent, state: _State, lex: Lexicon) -> ModelOutput:
        skill = self.skill
        for i, step in enumerate(intent.steps):
            if i in state.done or self._gave_up(intent, digest, state, i) or step.tool not in lex.tools:
                continue
            tries = state.attempts.get(i, [])
            view = lex.tools[step.tool]
            args: dict[str, Any] | None
            if not tries:
                args = self._arguments(lex, intent, state, i, intent.from_plan)
                if args is not None and self._chance(digest, f"argerr:{i}", skill.arg_error):
                    args = self._corrupt(args, view, self._rng(digest, f"argerr-how:{i}"))
            else:
                code, _, last = tries[-1]
                if code in _RANDOM_FAILURES and last is not None:
                    args = last
                elif self._chance(digest, f"fix:{i}:{len(tries)}", skill.fix_args):
                    args = self._repair(last, tries[-1][1], lex, intent, state, i)
                else:
                    args = last if last is not None else self._arguments(lex, intent, state, i, intent.from_plan)
            if args is None:
                continue  # nothing to give it: the step is skipped
            return self._call(text_mode, turn, prompt_tokens, step.tool, args, intent, i)
        return self._final(intent, state, digest, prompt_tokens)

    def _call(self, text_mode: bool, turn: int, prompt_tokens: int, tool: str, args: dict[str, Any], intent: Intent,
              i: int) -> ModelOutput:
        arguments = json.dumps(args)
        reasoning = None
        if intent.cot:
            feeds = ", ".join(f"{k} from step {j + 1}" for k, j in intent.feeders[i]) if i < len(intent.feeders) else ""
            reasoning = f"Step {i + 1}: {tool} comes next" + (f" ({feeds})." if feeds else ".")
        completion = len(arguments) // 4 + 10
        if text_mode:
            block = TOOL_CALL_OPEN + json.dumps({"name": tool, "arguments": args}) + TOOL_CALL_CLOSE
            content = f"{reasoning}\n{block}" if reasoning else block
            return ModelOutput(content=content, usage=Usage(prompt_tokens, completion), finish_reason="stop")
        return ModelOutput(
            content=reasoning,
            tool_calls=(ToolCall(f"call_{turn}_0", tool, arguments),),
            usage=Usage(prompt_tokens, completion),
            finish_reason="tool_calls",
        )

    def _final(self, intent: Intent, state: _State, digest: str, prompt_tokens: int) -> ModelOutput:
        done = [intent.steps[i].tool for i in sorted(state.done)]
        last = len(intent.steps) - 1
        if not intent.steps:
            text = f"{FINAL_MARKER} I could not tell which of the tools this task needs, so I ran none."
        elif last in state.done:
            text = f"{FINAL_MARKER} The workflow is complete: ran {', '.join(done)}."
            if not self._chance(digest, "forget", self.skill.forget_result):
                text += f"\nRESULT: {state.done[last].handle}"
        else:
            text = (f"{FINAL_MARKER} The workflow did not finish: {intent.steps[last].tool} did not succeed"
                    f" (ran {', '.join(done) or 'nothing'}).")
        return ModelOutput(content=text, usage=Usage(prompt_tokens, len(text) // 4), finish_reason="stop")

    def _malformed(self, text_mode: bool, turn: int, prompt_tokens: int, tool: str) -> ModelOutput:
        usage = Usage(prompt_tokens, 5)
        if text_mode:
            return ModelOutput(content=f'{TOOL_CALL_OPEN}{{"name": "{tool}", "arguments": {{', usage=usage)
        if turn % 2 or not tool:
            return ModelOutput(content="", usage=usage, finish_reason="stop")
        return ModelOutput(tool_calls=(ToolCall(f"call_{turn}_0", tool, '{"input": '),), usage=usage,
                           finish_reason="tool_calls")

    # ------------------------------------------------------------------ provider contract

    async def generate(self, request: ModelRequest, timeout: float) -> ModelOutput:
        return self.respond(request.messages, request.tools, request.params)

    def classify(self, error: BaseException) -> ProviderError:
        return ProviderError("fatal", f"simulated model {self.name} failed: {type(error).__name__}: {error}")

    async def aclose(self) -> None:
        return None

    def end_conversation(self, messages: list[Message]) -> None:
        """The runner is done with this conversation: what was kept for its next turn goes."""
        forget_history(messages)
