"""The computation tools (calculating, analysing, predicting, optimising and simulating over data): each tool's spec, how a task words a
step that uses it, how often the walk takes it, and what the simulator does for it beyond the generic
checks. Registered in ``toolkit/__init__.py``. Pure: no I/O; randomness only from the rng it is given.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Mapping
from typing import Any

from .base import Tool, _a, _Data, _fld, _join, _Say, _words
from .spec import _TABULAR, Param, _data, _tool

# How this category's settings are said in words.
_LIMITS = (
    ("budget", "max", (25000, 40000, 80000)),
    ("capacity", "max", (120, 400, 950)),
    ("headcount", "max", (12, 25, 40)),
    ("service_level", "min", (0.9, 0.95, 0.98)),
    ("stock_cover_days", "min", (5, 10, 14)),
)
_SCENARIOS = (
    ("demand_shift", (-0.1, 0.15, -0.05, 0.2)),
    ("price_shock", (0.1, 0.2, 0.3)),
    ("cost_increase", (0.08, 0.12, 0.05)),
    ("volume_drop", (0.15, 0.3, 0.1)),
    ("delay_rate", (0.1, 0.25)),
    ("rate_rise", (0.02, 0.05)),
)
_ANALYSIS_SAID = {"descriptive": ("descriptive",), "correlation": ("move together", "correlation"), "trend": ("trend",),
                  "anomaly": ("unusual", "anomaly")}  # what a step's words must contain to state its analysis
_ANALYSIS_WORDS = {
    "descriptive": "a descriptive summary of {cols}",
    "correlation": "how {cols} move together",
    "trend": "the trend in {cols}",
    "anomaly": "unusual values in {cols}",
}

# What an analysis finds, by its type: it reports on the columns it was asked about, and only the kind of
# finding that analysis makes (a correlation finds how columns move together, not outliers).
_FINDINGS: dict[str, tuple[str, ...]] = {
    "correlation": ("{a} and {b} move together (r={r:.2f})", "{a} and {b} move in opposite directions (r=-{r:.2f})",
                    "{a} and {b} barely move together (r={w:.2f})"),
    "trend": ("{a} trends downward over the last {k} periods", "{a} trends upward over the last {k} periods",
              "a seasonal pattern in {a} over the last quarter"),
    "anomaly": ("{k} outliers in {a} above the 99th percentile", "{k} unusually low values of {a}",
                "no outliers in {a}"),
    "descriptive": ("{a} has a median of {m} and a wide spread", "{a} is skewed to the right",
                    "{a} has missing values in {k} records"),
}

_DEFAULT_HORIZON = 4  # a forecast's periods when it names none
_DEFAULT_RUNS = 1000  # a simulation's runs when it names none

# --------------------------------------------------------------------------- simulator

def _evaluate(expression: str, records: int, data_id: str) -> float | None:
    """The value of a checked calculator expression over data of `records` records. Each field's
    aggregates are drawn from the data's id and the field, so every calculation over the same data
    agrees: min <= avg <= max, sum = avg * count()."""
    stats: dict[str, dict[str, float]] = {}

    def agg(fn: str, name: str | None) -> float:
        if fn == "count":
            return float(records)
        if name not in stats:
            rng = random.Random(f"{data_id}|{name}")
            avg = rng.uniform(1.0, 1000.0)
            stats[name] = {"avg": avg, "min": avg * rng.uniform(0.0, 0.9), "max": avg * rng.uniform(1.1, 3.0),  # type: ignore[index]
                           "sum": avg * records}
        return stats[name][fn]  # type: ignore[index]

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Call):
            return agg(node.func.id, node.args[0].id if node.args else None)  # type: ignore[attr-defined]
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b, ast.Div: lambda: a / b,
                   ast.FloorDiv: lambda: a // b, ast.Mod: lambda: a % b, ast.Pow: lambda: a ** min(b, 64.0)}
            fn = ops.get(type(node.op))
            if fn is None:
                raise ValueError("operator")
            return fn()
        raise ValueError("node")

    try:
        value = ev(ast.parse(expression, mode="eval"))
    except (ZeroDivisionError, OverflowError, ValueError, TypeError, RecursionError):
        return None
    if not isinstance(value, float) or value != value or abs(value) == float("inf"):
        return None  # a complex root of a negative number, NaN or infinity: no number to report
    return round(value, 2)


def _calculator_summary(sim: Any, args: Mapping[str, Any], main: Any, inputs: Any, extra: Any, records: int, rng: Any,
                        summary: dict[str, Any]) -> int | None:
    data_id = f"{sim.world_id}|{main.call_index}" if main is not None else sim.world_id
    summary["result"] = _evaluate(str(args.get("expression")), main.records if main is not None else 0, data_id)
    return None


def _predictor_records(sim: Any, args: Mapping[str, Any], main: Any, rng: Any, summary: dict[str, Any]) -> int:
    return int(args.get("horizon") or _DEFAULT_HORIZON)


def _simulator_records(sim: Any, args: Mapping[str, Any], main: Any, rng: Any, summary: dict[str, Any]) -> int:
    return int(args.get("runs") or _DEFAULT_RUNS)


def _analyzer_records(sim: Any, args: Mapping[str, Any], main: Any, rng: random.Random, summary: dict[str, Any]) -> int:
    kind = str(args.get("analysis_type") or "descriptive")
    cols = [str(c) for c in (args.get("columns") or []) if isinstance(c, str)] or ["the first numeric field"]
    templates = _FINDINGS.get(kind, _FINDINGS["descriptive"])
    # one finding for a pair of columns (a correlation), else one per column: never two that disagree
    subjects = [(cols[0], cols[1] if len(cols) > 1 else cols[0])] if kind == "correlation" else [(c, c) for c in cols]
    findings = [rng.choice(templates).format(a=a, b=b, r=rng.uniform(0.55, 0.9), w=rng.uniform(0.02, 0.2),
                                             k=rng.randint(2, 9), m=rng.randint(10, 500)) for a, b in subjects]
    summary["findings"] = findings
    return len(findings)

# --------------------------------------------------------------------------- calculator

_CALCULATOR_SPEC = _tool(
    "computation", "calculator",
    "Evaluates an arithmetic expression over aggregates of a dataset's numeric fields.",
    (
        _data("input", _TABULAR, "Dataset to compute over"),
        Param("expression", "string",
              "Arithmetic over sum(F), avg(F), min(F), max(F), count() of numeric fields F, numbers and + - * / ( ), "
              "e.g. 'sum(F) * 1.2'.", check="expression"),
    ),
    "number", (("result", "number"),),
    ("work out a total, margin or commission", "compute a figure from the data", "derive an exact amount"),
)


def _say_calculator(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main = g.rng, ins.get("input") or ins.get("path")
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


CALCULATOR = Tool(
    spec=_CALCULATOR_SPEC,
    say=_say_calculator,
    ref="the computed figure",
    hard=(
        "work out [the exact figure|the precise figure]: {d}",
        "compute [a single figure|one figure] from the data: {d}",
        "derive [the exact amount|the precise amount]: {d}",
        "work out [the exact figure|the precise figure] from {src}: {d}",
        "compute [a single figure|one figure] from {src}: {d}",
        "derive [the exact amount|the precise amount] from {src}: {d}",
        "[work out|compute|derive] [the exact figure|one figure|the precise amount] [from|out of] {src}: {d}",
        "[calculate|work out|compute] [one exact figure|a single amount|the figure] [from|out of|based on] {src}: {d}",
    ),
    very_hard=(
        "{d}, computed as a figure from {src}",
        "[the exact amount|the precise amount] derived from {src}: {d}",
        "[the exact figure|one figure|the precise amount] [worked out|computed|derived] [from|out of] {src}: {d}",
        "[one figure|a single figure|the exact amount] [computed|derived|worked out] [from|out of] {src}, namely {d}",
    ),
    checked=("expression",),
    weight=1.5,
    summary=_calculator_summary,
)

# --------------------------------------------------------------------------- analyzer

_ANALYZER_SPEC = _tool(
    "computation", "analyzer",
    "Runs a statistical analysis (descriptive, correlation, trend or anomaly) on a dataset.",
    (
        _data("input", _TABULAR, "Dataset to analyse"),
        Param("analysis_type", "string", "Kind of analysis.", enum=("descriptive", "correlation", "trend", "anomaly")),
        Param("columns", "array", "Existing fields to include (default: all numeric).", required=False, check="fields"),
    ),
    "analysis", (("findings", "array"),),
    ("understand what drives a change", "spot anything unusual in the figures", "find patterns and outliers"),
)


def _say_analyzer(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main = g.rng, ins.get("input") or ins.get("path")
    kind = r.choice(("descriptive", "correlation", "trend", "anomaly"))
    nums = main.numeric()
    cols = r.sample(nums, min(len(nums), 2 if kind == "correlation" else r.randint(1, 2)))
    args = {"analysis_type": kind, "columns": cols}
    text = _ANALYSIS_WORDS[kind].format(cols=_join([_fld(c) for c in cols]))
    return _Say(args, f"run {_a(kind)} analysis of {_join([_fld(c) for c in cols])}", text,
                f"{kind} analysis of {_join([_fld(c) for c in cols])}", text), \
        _Data("analysis", [("finding", "string"), ("strength", "number")], {}, {})


ANALYZER = Tool(
    spec=_ANALYZER_SPEC,
    say=_say_analyzer,
    ref="the findings",
    hard=(
        "find the patterns in the figures ({d})",
        "understand what drives the numbers ({d})",
        "spot the patterns in the figures ({d})",
        "find the patterns in {src}, namely {d}",
        "understand what drives the figures in {src}: {d}",
        "[study|examine|look into] {src} [to find|for] [the patterns|what drives the figures|the drivers]: {d}",
        "[find|spot] [the patterns|the patterns and drivers] in {src} [to understand|to learn] {d}",
        "[analyse|examine|dig into] {src} [for the patterns|to understand what drives it|for the patterns in it]: {d}",
    ),
    very_hard=(
        "the patterns in {src} found: {d}",
        "what drives the figures in {src} understood: {d}",
        "[the patterns|what drives the figures|the drivers] in {src} [found|understood|worked out]: {d}",
        "{src} [studied|examined|looked into] for its patterns: {d}",
        "[an analysis|a study|a look] of the patterns in {src} [showing|finding|revealing] {d}",
        "[the patterns|the signals|the drivers] in {src} [studied|worked out|found], namely {d}",
    ),
    checked=("analysis_type", "columns"),
    surfaces={"analysis_type": lambda v: [_ANALYSIS_SAID[v]]},
    weight=1.5,
    records=_analyzer_records,
)

# --------------------------------------------------------------------------- predictor

_PREDICTOR_SPEC = _tool(
    "computation", "predictor",
    "Fits a forecasting model to historical data and predicts a numeric field.",
    (
        _data("input", _TABULAR, "Historical data"),
        Param("target", "string", "Numeric field to predict.", check="numeric_field"),
        Param("horizon", "integer", "Future periods to predict (default 4).", required=False, minimum=1, maximum=24),
    ),
    "forecast", (("accuracy", "number"),),
    ("estimate next period's demand", "anticipate future volumes", "forecast a figure ahead of planning"),
)


def _say_predictor(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main = g.rng, ins.get("input") or ins.get("path")
    f = r.choice(main.numeric())
    h = r.choice((3, 4, 6, 8, 12))
    text = f"{_fld(f)} for the next {h} periods"
    return _Say({"target": f, "horizon": h}, f"predict {text}", text, text, f"a forecast of {text}"), \
        _Data("forecast", [("period", "integer"), (f"predicted_{f}", "number")], {}, {})


PREDICTOR = Tool(
    spec=_PREDICTOR_SPEC,
    say=_say_predictor,
    ref="the forecast",
    hard=(
        "estimate {d} [ahead of planning|before planning]",
        "anticipate {d}",
        "forecast {d} [for the planning round|for the next planning round]",
        "estimate {d} from {src}, [ahead of planning|before planning]",
        "anticipate {d}, based on {src}",
        "forecast {d} from {src} [for the planning round|for the next planning round]",
        "[estimate|forecast|anticipate] {d} [from|based on|out of] {src} [ahead of planning|for the planning round|before planning]",
        "[project|forecast|estimate] {d} [using|from|on the basis of] {src} [for planning|ahead of the planning round|before the next plan]",
    ),
    very_hard=(
        "{d} forecast from {src} [ahead of planning|before planning]",
        "a forecast of {d} made from {src} [ahead of planning|before planning]",
        "[a forecast|an estimate|a projection] of {d} [from|based on] {src} [ahead of planning|for the planning round|before planning]",
        "{d}, [forecast|estimated|projected] [from|out of|on the basis of] {src} [for planning|ahead of planning|before the planning round]",
    ),
    checked=("target", "horizon"),
    weight=1.5,
    records=_predictor_records,
    extras={"accuracy": lambda r, n: round(r.uniform(0.6, 0.97), 3)},
)

# --------------------------------------------------------------------------- optimizer

_OPTIMIZER_SPEC = _tool(
    "computation", "optimizer",
    "Searches for the plan that minimises or maximises an objective given a forecast or findings.",
    (
        _data("input", ("forecast", "analysis", "simulation"), "Forecast, findings or simulation to optimise"),
        Param("objective", "string", "Direction of the objective.", enum=("minimize", "maximize")),
        Param("constraints", "object", "Bounds by name, each {\"min\": n} and/or {\"max\": n}.", required=False,
              check="constraints"),
    ),
    "optimum", (("optimal_value", "number"),),
    ("get the most out of a budget", "cut costs as far as constraints allow", "choose the best plan"),
)


def _say_optimizer(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r = g.rng
    objective = r.choice(("minimize", "maximize"))
    name, bound, values = r.choice(_LIMITS)
    val = r.choice(values)
    limit = f"{_words(name)} at {'most' if bound == 'max' else 'least'} {val:g}"
    text = f"{'maximises' if objective == 'maximize' else 'minimises'} the outcome with {limit}"
    return _Say({"objective": objective, "constraints": {name: {bound: val}}},
                f"search for the plan that {text}", text, f"{objective}, {limit}",
                f"the best plan with {limit}"), \
        _Data("optimum", [("parameter", "string"), ("value", "number")], {}, {})


OPTIMIZER = Tool(
    spec=_OPTIMIZER_SPEC,
    say=_say_optimizer,
    ref="the optimised plan",
    hard=(
        "pick [the plan that is best|the best plan], one that {d}",
        "[get the most out of|make the most of] the figures with a plan that {d}",
        "find the best plan within the constraints, one that {d}",
        "pick, from {src}, [the plan that is best|the best plan]: one that {d}",
        "[get the most out of|make the most of] {src} with a plan that {d}",
        "find the best plan within the constraints from {src}, one that {d}",
        "[choose|pick|find] the plan that is best [from|out of|based on] {src}: one that {d}",
        "[get the most out of|make the most of] {src} [with|by choosing] a plan that {d}",
        "[search|look] [out of|through] {src} for [the best plan|the plan that is best|the winning plan], one that {d}",
    ),
    very_hard=(
        "the best plan chosen from {src}, one that {d}",
        "the best plan within the constraints chosen from {src}, one that {d}",
        "[the best plan|the plan that is best|the winning plan] [chosen|picked|found] [from|out of|based on] {src}: one that {d}",
        "[a plan|the plan|an optimal plan] [that|which] {d}, [chosen|picked|found] [from|out of|based on] {src}",
        "[an optimal|the best|the strongest] plan [out of|from|drawn from] {src} [that|which] {d}",
    ),
    checked=("objective", "constraints"),
    surfaces={"objective": lambda v: [("maximis", "maximiz") if v == "maximize" else ("minimis", "minimiz")]},
    weight=1.5,
    extras={"optimal_value": lambda r, n: round(r.uniform(10.0, 1e5), 2)},
)

# --------------------------------------------------------------------------- simulator

_SIMULATOR_SPEC = _tool(
    "computation", "simulator",
    "Runs Monte Carlo simulations of scenarios over a dataset or forecast.",
    (
        _data("input", _TABULAR + ("forecast",), "Baseline to simulate from"),
        Param("scenario", "object", "Scenario parameters by name, numeric values, e.g. {\"price_change\": 0.05}.",
              check="scenario"),
        Param("runs", "integer", "Simulation runs (default 1000).", required=False, minimum=10, maximum=100_000),
    ),
    "simulation", (("mean_outcome", "number"),),
    ("see how things would fare under a shock", "try a change on paper before launch", "stress-test a plan"),
)


def _say_simulator(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r = g.rng
    name, values = r.choice(_SCENARIOS)
    v = r.choice(values)
    runs = r.choice((500, 2000, 5000))
    text = f"a {_words(name)} of {v * 100:+g}%" if name.endswith("shift") else f"a {_words(name)} of {abs(v) * 100:g}%"
    text = f"{text} over {runs} runs"
    return _Say({"scenario": {name: v}, "runs": runs}, f"simulate {text}", text, text,
                f"a simulation of how {text} would play out"), \
        _Data("simulation", [("scenario", "string"), ("outcome", "number")], {}, {})


SIMULATOR = Tool(
    spec=_SIMULATOR_SPEC,
    say=_say_simulator,
    ref="the simulation results",
    hard=(
        "stress-test the figures under {d}",
        "try {d} [on paper|as a dry run] to see [how things would fare|how it would all fare]",
        "see [how things would fare|how it would all fare] under [the shock of|a shock:] {d}",
        "stress-test {src} under {d}",
        "try {d} [on paper|as a dry run] with {src} to see [how things would fare|how it would all fare]",
        "see how {src} would fare under {d}",
        "[stress-test|try out|test] {src} [under|against] {d} [to see how things would fare|on paper|as a dry run]",
        "[see|find out] how {src} would [fare|hold up] [under|with] {d} [before anything changes|on paper|in a dry run]",
    ),
    very_hard=(
        "{src} stress-tested under {d}",
        "[how things would fare|how it would all fare] with {src} under {d}, seen [on paper|as a dry run]",
        "{src} [stress-tested|tried out|tested] [under|against] {d} [to see how things would fare|on paper|as a dry run]",
        "[a stress test|a dry run|a trial on paper] of {src} [under|against] {d}, [to see how things would fare|showing how it would all fare|before anything changes]",
    ),
    checked=("scenario", "runs"),
    weight=1.2,
    records=_simulator_records,
    extras={"mean_outcome": lambda r, n: round(r.uniform(-0.2, 0.4), 4)},
)

TOOLS: tuple[Tool, ...] = (CALCULATOR, ANALYZER, PREDICTOR, OPTIMIZER, SIMULATOR)
