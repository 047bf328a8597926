"""One flag grammar for every command.

Every list flag is repeatable and takes comma-separated values (`-m a -m b` is `-m a,b`), never
keeping only the last one; the filters have the same names and short forms wherever a command has
them (`-m/--model`, `-p/--prompt-type`, `-t/--task-type`, `-d/--difficulty`,
`-r/--tool-success-rate`, `--group`), with the plural spellings as aliases.
"""

from __future__ import annotations

from typing import Any, Callable

import click


def split_values(ctx: click.Context | None, param: click.Parameter | None, values: Any) -> tuple[str, ...]:
    """Every value of a repeatable option, each split at commas, in the order given, blanks dropped."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    out: list[str] = []
    for value in values:
        out.extend(part.strip() for part in str(value).split(",") if part.strip())
    return tuple(out)


def list_option(*decls: str, **kwargs: Any) -> Callable[[Any], Any]:
    """A repeatable, comma-separated option; its value is a tuple of strings (empty: not given)."""
    kwargs.setdefault("metavar", "LIST")
    return click.option(*decls, multiple=True, callback=split_values, **kwargs)


def one_value(ctx: click.Context | None, param: click.Parameter | None, values: Any) -> str | None:
    """callback of a filter flag that names one thing (`prompt` shows one test): more than one value,
    repeated or comma-separated, is an error rather than the last one winning."""
    parts = split_values(ctx, param, values)
    if len(parts) > 1:
        name = param.opts[0] if param is not None and param.opts else "this option"
        raise click.BadParameter(f"takes one value here; got {', '.join(parts)}", ctx=ctx, param=param,
                                 param_hint=f"'{name}'")
    return parts[0] if parts else None


def single_option(*decls: str, **kwargs: Any) -> Callable[[Any], Any]:
    """A filter flag with the list flags' name that takes one value, refusing more."""
    default = kwargs.pop("default", None)
    return click.option(*decls, multiple=True, callback=one_value,
                        default=(default,) if default is not None else (), **kwargs)


# The filters, one spelling each; `dest` is the function argument's name.
def model_option(help: str, **kwargs: Any) -> Callable[[Any], Any]:
    return list_option("--model", "--models", "-m", "model", help=help, **kwargs)


def group_option(help: str, **kwargs: Any) -> Callable[[Any], Any]:
    return list_option("--group", "--groups", "group", help=help, **kwargs)


def prompt_type_option(help: str, **kwargs: Any) -> Callable[[Any], Any]:
    return list_option("--prompt-type", "--prompt-types", "-p", "prompt_types", help=help, **kwargs)


def task_type_option(help: str, **kwargs: Any) -> Callable[[Any], Any]:
    return list_option("--task-type", "--task-types", "-t", "task_types", help=help, **kwargs)


def difficulty_option(help: str, **kwargs: Any) -> Callable[[Any], Any]:
    return list_option("--difficulty", "--difficulties", "-d", "difficulty", help=help, **kwargs)


def rate_option(help: str, **kwargs: Any) -> Callable[[Any], Any]:
    return list_option("--tool-success-rate", "--tool-success-rates", "-r", "tool_success_rate", help=help, **kwargs)


def closest(name: str, possibilities: list[str] | None) -> str | None:
    """The one closest candidate to a mistyped option or command name, or None."""
    if not possibilities:
        return None
    from difflib import SequenceMatcher

    return max(possibilities, key=lambda p: (SequenceMatcher(None, name, p).ratio(), -len(p)))


def usage_message(error: click.UsageError) -> str:
    """Click's message, with an unknown option or command naming the single closest one:
    "No such option '--modle'. Did you mean '--model'?"."""
    if isinstance(error, click.exceptions.NoSuchOption):
        best = closest(error.option_name, list(error.possibilities or ()))
        return error.message + (f" Did you mean '{best}'?" if best else "")
    no_such_command = getattr(click.exceptions, "NoSuchCommand", None)  # click >= 8.4
    if no_such_command is not None and isinstance(error, no_such_command):
        best = closest(error.command_name, list(error.possibilities or ()))
        return error.message + (f" Did you mean '{best}'?" if best else "")
    return error.format_message()

