"""Built-in offline models: `sim/weak`, `sim/medium`, `sim/strong`.

A simulated model sees only what a real model sees, the messages and the tool schemas, and
reads them the way a model would: it recognises tools named in the task, or implied by their
operation verbs or by business phrases, follows a workflow plan if one is given (and may be
misled by its flaw), calls tools with arguments built from their schemas, retries failures and
ends with a final answer. Skill parameters make it miss tools on abstract wording, trust bad
plans, and make format and argument errors.

It is stateless and deterministic: every decision is drawn from a generator seeded by the model
name, the conversation's opening user message and a decision key, and the conversation so far
is re-read on every call. The same conversation therefore gets the same reply in process and
behind the mock server.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..benchmark.protocol import FINAL_MARKER, TOOL_CALL_CLOSE, TOOL_CALL_OPEN
from ..benchmark.tools import TOOLS, ToolSpec
from ..benchmark.types import Message, ModelOutput, ToolCall, ToolSchema, Usage
from ..errors import ProviderError
from .base import ModelRequest


@dataclass(frozen=True, slots=True)
class Skill:
    """How well a simulated model reads tasks and uses tools; probabilities in [0, 1]."""

    recognize_name: float  # a tool named literally in the task
    recognize_verb: float  # a tool implied by its operation verb
    recognize_phrase: float  # a tool implied only by a business phrase
    cot_bonus: float  # added recognition when asked to reason step by step
    plan_trust: float  # follows a workflow plan when one is given
    flaw_detection: float  # notices a plan that disagrees with the task and uses its own reading
    wrong_tool: float  # picks a sibling tool instead of the one it meant
    format_error: float  # a malformed reply on a turn
    arg_error: float  # leaves out a required argument on a call
    retry: float  # retries a failed call (up to max_attempts)
    fix_args: float  # repairs its arguments after INVALID_INPUT
    max_attempts: int = 3


SKILLS: dict[str, Skill] = {
    "sim/strong": Skill(1.0, 0.97, 0.88, 0.05, 0.95, 0.7, 0.01, 0.01, 0.02, 0.97, 0.95),
    "sim/medium": Skill(0.98, 0.82, 0.55, 0.08, 0.85, 0.35, 0.05, 0.05, 0.08, 0.85, 0.7),
    "sim/weak": Skill(0.9, 0.55, 0.22, 0.08, 0.7, 0.08, 0.14, 0.14, 0.2, 0.55, 0.35, 2),
}



def _between(low: Skill, high: Skill, t: float) -> Skill:
    """A skill profile a share `t` of the way from `low` to `high` (for a simulated size family)."""
    values = {}
    for name in Skill.__dataclass_fields__:  # type: ignore[attr-defined]
        a, b = getattr(low, name), getattr(high, name)
        values[name] = round(a + (b - a) * t) if isinstance(a, int) and not isinstance(a, bool) and name == "max_attempts" else a + (b - a) * t
    return Skill(**values)


# A family of sizes, so that the scale section (5.2) has something to show offline.
SKILLS.update(
    {f"sim/family-{size}b": _between(SKILLS["sim/weak"], SKILLS["sim/strong"], t)
     for size, t in ((3, 0.05), (7, 0.3), (14, 0.55), (72, 0.9))}
)

_STEP_LINE = re.compile(r"^Step (\d+): (\w+) - (.*?)\. Key arguments: (.*?)\. Depends on: (.*?)\.$", re.M)
_HANDLE_REF = re.compile(r"<handle from step (\d+)>")
_SOURCE = re.compile(r'"source": "([^"]+)"')
_FORMAT = re.compile(r'"format": "([^"]+)"')


@dataclass(frozen=True, slots=True)
class Step:
    tool: str
    key_args: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Intent:
    """What the model decided, on reading the opening messages, to do."""

    steps: tuple[Step, ...]
    source: str
    data_format: str
    cot: bool


def _lexicon() -> list[tuple[str, str, str]]:
    """(phrase, tool, how) for every way the catalog's wording can point at a tool, longest first."""
    entries: list[tuple[str, str, str]] = []
    for spec in TOOLS.values():
        entries.append((spec.name, spec.name, "name"))
        entries.extend((v.lower(), spec.name, "verb") for v in spec.verbs)
        entries.extend((p.lower(), spec.name, "phrase") for p in spec.goal_phrases)
    entries.sort(key=lambda e: -len(e[0]))
    return entries


_LEXICON = _lexicon()


def _find_mentions(text: str, offered: set[str]) -> list[tuple[int, str, str]]:
    """(position, tool, how) of every tool mention in `text`, earliest first, each span used once."""
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, str, str]] = []
    for phrase, tool, how in _LEXICON:
        if tool not in offered:
            continue
        start = 0
        while (pos := lowered.find(phrase, start)) != -1:
            end = pos + len(phrase)
            start = end
            if how == "verb" and (pos > 0 and lowered[pos - 1].isalnum() or end < len(lowered) and lowered[end].isalpha()):
                continue
            if any(pos < e and end > s for s, e in taken):
                continue
            taken.append((pos, end))
            found.append((pos, tool, how))
    found.sort()
    return found


class SimulatedModel:
    """One skill profile. `respond()` is the whole model: messages and tools in, one reply out."""

    def __init__(self, name: str, skill: Skill) -> None:
        self.name = name
        self.skill = skill
        self._intents: OrderedDict[str, Intent] = OrderedDict()

    # ------------------------------------------------------------------ reading the prompt

    def _rng(self, digest: str, key: str) -> random.Random:
        return random.Random(f"{self.name}|{digest}|{key}")

    def _intent(self, digest: str, system: str, user: str, offered: set[str]) -> Intent:
        cached = self._intents.get(digest)
        if cached is not None:
            return cached
        skill = self.skill
        task_text, _, plan_text = user.partition("Follow this workflow plan.")
        task_text = task_text.split("\nInputs:", 1)[0]
        cot = "Think step by step" in user
        bonus = skill.cot_bonus if cot else 0.0
        rng = self._rng(digest, "intent")
        p = {"name": skill.recognize_name, "verb": skill.recognize_verb + bonus, "phrase": skill.recognize_phrase + bonus}
        own: list[str] = []
        for _, tool, how in _find_mentions(task_text, offered):
            if tool in own:
                continue
            if rng.random() < p[how]:
                if rng.random() < skill.wrong_tool:
                    siblings = [t for t in offered if TOOLS[t].category == TOOLS[tool].category and t != tool]
                    tool = rng.choice(sorted(siblings)) if siblings else tool
                own.append(tool)
        steps = tuple(Step(t) for t in own)

        plan = _STEP_LINE.findall(plan_text)
        if plan and rng.random() < skill.plan_trust:
            plan_steps = [
                Step(tool, tuple(tuple(kv.split("=", 1)) for kv in args.split("; ") if "=" in kv))  # type: ignore[misc]
                for _, tool, _, args, _ in plan
            ]
            # A step that says it depends on a later one is moved after it, as a literal reader would.
            order = list(range(len(plan_steps)))
            for i, (_, _, _, _, deps) in enumerate(plan):
                later = [int(d) - 1 for d in re.findall(r"step (\d+)", deps) if int(d) - 1 > i]
                if later:
                    order.remove(i)
                    order.insert(order.index(max(later)) + 1, i)
            # A tool the plan names but the schemas do not offer cannot be called; it is skipped.
            followed = tuple(plan_steps[i] for i in order if plan_steps[i].tool in offered)
            # Checking the plan against the task: the tools the task mentions, in its order.
            truth = list(dict.fromkeys(t for _, t, _ in _find_mentions(task_text, offered)))
            suspicious = [s.tool for s in followed] != truth or any(
                s.tool not in TOOLS or any(k not in TOOLS[s.tool].param_names for k, _ in s.key_args)
                for s in followed
            )
            if suspicious and truth and rng.random() < skill.flaw_detection:
                steps = tuple(Step(t) for t in truth)
            else:
                steps = followed
        source = _SOURCE.search(user)
        fmt = _FORMAT.search(user)
        intent = Intent(steps, source.group(1) if source else "input.dat", fmt.group(1) if fmt else "json", cot)
        self._intents[digest] = intent
        if len(self._intents) > 4096:
            self._intents.popitem(last=False)
        return intent

    # ------------------------------------------------------------------ acting

    def _arguments(self, spec: ToolSpec, step: Step, intent: Intent, handles: list[str], rng: random.Random) -> dict:
        args: dict[str, Any] = {}
        for param in spec.parameters:
            if not param.required:
                continue
            if param.name == "input":
                args["input"] = handles[-1] if handles else intent.source
            elif param.enum:
                args[param.name] = intent.data_format if intent.data_format in param.enum else param.enum[0]
            elif param.type == "string":
                args[param.name] = intent.source
            elif param.type == "integer":
                args[param.name] = 100
            elif param.type == "number":
                args[param.name] = 1.0
            elif param.type == "boolean":
                args[param.name] = True
            elif param.type == "array":
                args[param.name] = ["default"]
            else:
                args[param.name] = {}
        if step.key_args:  # a plan's arguments win, wrongly named ones included
            plan_names = {k for k, _ in step.key_args}
            for k, v in step.key_args:
                ref = _HANDLE_REF.fullmatch(v)
                args[k] = handles[-1] if ref and handles else v
            for name in list(args):
                if name not in plan_names and name in ("input",) and any(n not in args for n in plan_names):
                    del args[name]
        return args

    def respond(self, messages: list[Message], tools: list[ToolSchema] | None, params: dict | None = None) -> ModelOutput:
        system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
        user = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
        text_mode = tools is None
        if tools is not None:
            offered = {t["function"]["name"] for t in tools if t.get("type") == "function"}
        else:
            offered = {name for name in TOOLS if name in system}
        digest = hashlib.blake2b(f"{user}\x00{text_mode}".encode(), digest_size=12).hexdigest()
        intent = self._intent(digest, system, user, offered)
        history = _read_history(messages, text_mode)
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        prompt_tokens = sum(len(m.get("content") or "") for m in messages) // 4 + (3000 if tools else 0)

        skill = self.skill
        if self._rng(digest, f"format:{turn}").random() < skill.format_error:
            return self._malformed(text_mode, turn, prompt_tokens, self._next_tool(intent, offered))

        handles = [h for _, ok, h, _ in history if ok and h]
        position = 0
        for index, step in enumerate(intent.steps):
            attempts = [(ok, code) for tool, ok, _, code in history if tool == step.tool]
            if any(ok for ok, _ in attempts):
                continue
            if attempts:
                if len(attempts) >= skill.max_attempts:
                    continue
                if self._rng(digest, f"retry:{index}:{len(attempts)}").random() >= skill.retry:
                    continue
            position = index
            break
        else:
            position = len(intent.steps)

        if position >= len(intent.steps):
            done = [s.tool for s in intent.steps if any(t == s.tool and ok for t, ok, _, _ in history)]
            text = f"{FINAL_MARKER} The workflow is complete: ran {', '.join(done) or 'no tools'}."
            return ModelOutput(content=text, usage=Usage(prompt_tokens, len(text) // 4), finish_reason="stop")

        step = intent.steps[position]
        spec = TOOLS.get(step.tool)
        attempt = sum(1 for tool, *_ in history if tool == step.tool)
        rng = self._rng(digest, f"args:{position}:{attempt}")
        args = self._arguments(spec, step, intent, handles, rng) if spec else {}
        last_code = next((code for tool, ok, _, code in reversed(history) if tool == step.tool and not ok), None)
        if last_code == "INVALID_INPUT" and spec and rng.random() < skill.fix_args:
            args = self._arguments(spec, Step(step.tool), intent, handles, rng)
        elif spec and attempt == 0 and rng.random() < skill.arg_error:
            required = [p.name for p in spec.parameters if p.required and p.name in args]
            if required:
                del args[rng.choice(required)]
        arguments = json.dumps(args)
        reasoning = f"Step {position + 1}: {step.tool} comes next." if intent.cot else None
        call_id = f"call_{turn}_0"
        completion = len(arguments) // 4 + 10
        if text_mode:
            content = f"{reasoning + chr(10) if reasoning else ''}{TOOL_CALL_OPEN}" + json.dumps(
                {"name": step.tool, "arguments": args}
            ) + TOOL_CALL_CLOSE
            return ModelOutput(content=content, usage=Usage(prompt_tokens, completion), finish_reason="stop")
        return ModelOutput(
            content=reasoning,
            tool_calls=(ToolCall(call_id, step.tool, arguments),),
            usage=Usage(prompt_tokens, completion),
            finish_reason="tool_calls",
        )

    @staticmethod
    def _next_tool(intent: Intent, offered: set[str]) -> str:
        for step in intent.steps:
            if step.tool in offered:
                return step.tool
        return min(offered) if offered else "unknown_tool"

    def _malformed(self, text_mode: bool, turn: int, prompt_tokens: int, tool: str) -> ModelOutput:
        usage = Usage(prompt_tokens, 5)
        if text_mode:
            return ModelOutput(content=f'{TOOL_CALL_OPEN}{{"name": "oops", "arguments": {{', usage=usage)
        if turn % 2:
            return ModelOutput(content="", usage=usage, finish_reason="stop")
        return ModelOutput(
            tool_calls=(ToolCall(f"call_{turn}_0", tool, '{"input": '),),
            usage=usage,
            finish_reason="tool_calls",
        )

    # ------------------------------------------------------------------ provider contract

    kind = "simulated"

    async def generate(self, request: ModelRequest, timeout: float) -> ModelOutput:
        return self.respond(request.messages, request.tools, request.params)

    def classify(self, error: BaseException) -> ProviderError:
        return ProviderError("fatal", f"simulated model {self.name} failed: {type(error).__name__}: {error}")

    async def aclose(self) -> None:
        return None


def _read_history(messages: list[Message], text_mode: bool) -> list[tuple[str, bool, str | None, str | None]]:
    """(tool, succeeded, handle, error code) for every tool result in the conversation."""
    out: list[tuple[str, bool, str | None, str | None]] = []
    names: dict[str, str] = {}
    for m in messages:
        role = m.get("role")
        if role == "assistant" and m.get("tool_calls"):
            for c in m["tool_calls"]:
                names[c.get("id", "")] = c.get("function", {}).get("name", "")
        elif role == "tool":
            out.append(_observation(names.get(m.get("tool_call_id", ""), ""), m.get("content") or ""))
        elif text_mode and role == "user" and "<tool_result" in (m.get("content") or ""):
            for name, body in re.findall(r'<tool_result name="([^"]*)">(.*?)</tool_result>', m["content"], re.S):
                out.append(_observation(name, body))
    return out


def _observation(name: str, body: str) -> tuple[str, bool, str | None, str | None]:
    try:
        obs = json.loads(body)
    except ValueError:
        return (name, False, None, None)
    if not isinstance(obs, dict):
        return (name, False, None, None)
    if obs.get("status") == "success":
        output = obs.get("output") or {}
        return (name, True, output.get("handle") if isinstance(output, dict) else None, None)
    return (name, False, None, obs.get("error_code"))


_MODELS: dict[str, SimulatedModel] = {}
SIMULATED_MODELS: tuple[str, ...] = tuple(SKILLS)


def get_simulated_model(name: str) -> SimulatedModel:
    """The shared instance for a built-in simulated model name (`sim/weak`, `sim/medium`, `sim/strong`)."""
    model = _MODELS.get(name)
    if model is None:
        if name not in SKILLS:
            raise KeyError(f"unknown simulated model {name!r}; choose from {', '.join(SKILLS)}")
        model = _MODELS[name] = SimulatedModel(name, SKILLS[name])
    return model
