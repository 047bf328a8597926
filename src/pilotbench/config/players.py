"""Human players: `human/<name>` models and their labels in reports."""

from __future__ import annotations

import re

from .model import Config


HUMAN_PREFIX = "human/"
PLAYER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def is_human_name(name: str) -> bool:
    """Whether a model name (or a report row label that starts with one) is a human player's."""
    return name.startswith(HUMAN_PREFIX)


def player_label(label: str, tests: int | None = None) -> str:
    """A row label with human players marked: `human/alice (human, N=12) [seed=1]`; others as they are."""
    if not is_human_name(label):
        return label
    name, sep, rest = label.partition(" [")
    mark = "human" if tests is None else f"human, N={tests}"
    return f"{name} ({mark})" + (f" [{rest}" if sep else "")


def is_human(config: Config, model: str) -> bool:
    """Whether `model` is played by a person (a `human/<name>` model, or any model of a human provider)."""
    entry = config.models.get(model)
    if entry is None:
        return model.startswith(HUMAN_PREFIX)
    provider = config.providers.get(entry.provider)
    return provider is not None and provider.kind == "human"
