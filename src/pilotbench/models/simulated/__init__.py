"""Built-in offline models: `sim/weak`, `sim/medium`, `sim/strong` and the size family `sim/family-*b`.

A simulated model sees only what a real model sees: the messages (the task text, its inputs, a
workflow plan if one is given, the tool results) and the tool schemas it is offered (names,
descriptions, parameters; in text mode the JSON listing in the system message). Nothing else: it
builds its reading lexicon from the schemas it receives, at run time.

How it works, like a model would:
- It reads the task clause by clause and scores every offered tool by word overlap with the tool's
  public description: a tool named literally, implied by its operation verb ("parse", "filter"),
  or implied by a paraphrase of its purpose or typical uses; a task that states only its goal is
  read by the words only one tool's description uses ("structured", "audit"). The task's declared
  inputs point at the tools that take them ("exactly the recipient the task names"), and the typed descriptions
  ("Takes: `input` (`records` handle) ... Returns: a `summary` handle") show a missing step whose
  output another step needs. Skill knobs decide which of these it catches.
- It orders its steps so that each one's inputs exist (a skilled model from the types, a weak one
  in the order of the text), passes each step the handle of an accepted type from the step that
  feeds it, takes literal values from the task's inputs by role, and fills settings from the data
  it has seen in the tool results (fields, format).
- Given a workflow plan it follows it (plan trust), unless it notices a flaw: a step that reads a
  later one, an input of the wrong type, a parameter the tool does not take, a literal the task
  does not name, a tool or step the task does not ask for, a goal that is not the task's. Noticing is judged against its own
  imperfect reading, and a noticed flaw sends it back to that reading.
- It retries random tool failures, repairs its arguments after INVALID_INPUT by reading the message
  (the parameter it names is dropped or given the model's own value; skill), gives up after
  `max_attempts`, and ends with "FINAL ANSWER: ..." and a line "RESULT: <handle>" naming the output
  of its last step (a careless model forgets the line).

It is stateless and deterministic: every decision is drawn from a generator seeded by the model name,
a digest of the opening user message and a decision key, and the conversation so far is re-read on
every call. The same conversation gets the same reply in process and behind the mock server.
"""

from __future__ import annotations

from .history import forget_history
from .policy import SimulatedModel
from .skills import SKILLS, Skill

__all__ = ["SIMULATED_MODELS", "SKILLS", "SimulatedModel", "Skill", "forget_history", "get_simulated_model"]


_MODELS: dict[str, SimulatedModel] = {}
SIMULATED_MODELS: tuple[str, ...] = tuple(SKILLS)


def get_simulated_model(name: str) -> SimulatedModel:
    """The shared instance for a built-in simulated model name (`sim/weak`, `sim/medium`, `sim/strong`, ...)."""
    model = _MODELS.get(name)
    if model is None:
        if name not in SKILLS:
            raise KeyError(f"unknown simulated model {name!r}; choose from {', '.join(SKILLS)}")
        model = _MODELS[name] = SimulatedModel(name, SKILLS[name])
    return model
