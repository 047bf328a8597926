"""API keys, as they may be shown: one labelling function and one redaction, for every layer.

- `key_label(key)`: the only form in which a key is ever shown: ``...`` and its last four
  characters; a key shorter than 8 characters (whose last four would be half of it or more) is
  masked entirely (``...****``, whatever its length).
- `redact(text, keys)`: `text` with every key replaced by its label, in every shape a server or a
  library may echo it: as sent, escaped as a Python repr or a JSON string (once or twice over),
  URL-encoded, and any long piece of it (`MIN_PIECE` characters or more, or half the key when that
  is shorter), so that an echo cut short or spliced still does not give the key away.
- `unsendable(key)`: why a key cannot go into an HTTP header (a newline, another control
  character, a space, a non-ASCII character), or None. Such a key is a configuration error,
  said naming its variable, never retried as if the server were at fault.

No I/O and no imports from the rest of pilotbench: config, models, limits and the mock server
all use it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MIN_LABELLED_LENGTH", "MIN_PIECE", "key_label", "redact", "unsendable"]

MIN_LABELLED_LENGTH = 8  # shorter keys are masked entirely
MIN_PIECE = 12  # a piece of a key this long (or half the key, if shorter) is redacted too
_MASKED = "...****"


def key_label(key: str | None) -> str:
    """``...abcd`` (the last four characters); ``...****`` for a key shorter than 8 characters;
    ``<none>`` for no key."""
    if not key:
        return "<none>"
    if len(key) < MIN_LABELLED_LENGTH:
        return _MASKED
    return "..." + key[-4:]


@functools.lru_cache(maxsize=256)
def _escaped_forms(key: str) -> frozenset[str]:
    """The shapes in which `key` may come back: as is, repr- and JSON-escaped (twice over too),
    URL-encoded."""
    forms = {key}
    for _ in range(2):
        for form in list(forms):
            forms.add(repr(form)[1:-1])
            backslashed = form.replace("\\", "\\\\")
            forms.add(backslashed)
            forms.add(backslashed.replace("'", "\\'"))
            forms.add(backslashed.replace('"', '\\"'))
            forms.add(json.dumps(form)[1:-1])
            forms.add(json.dumps(form, ensure_ascii=False)[1:-1])
    for form in list(forms):
        forms.add(quote(form, safe=""))
        forms.add(quote_plus(form, safe=""))
        forms.add(quote(form))
    return frozenset(f for f in forms if f)


def _piece_length(key: str) -> int:
    return max(4, min(MIN_PIECE, len(key) // 2))


def redact(text: str, keys: Iterable[str | None]) -> str:
    """`text` with every shape of each key (see the module docstring) replaced by its label."""
    if not text:
        return text
    spans: list[tuple[int, int, str]] = []
    for key in keys:
        if not key:
            continue
        label = key_label(key)
        if len(key) < MIN_LABELLED_LENGTH:
            # A short key: only its exact shapes (a short piece would match ordinary words).
            for form in _escaped_forms(key):
                start = text.find(form)
                while start >= 0:
                    spans.append((start, start + len(form), label))
                    start = text.find(form, start + 1)
            continue
        m = _piece_length(key)
        for form in _escaped_forms(key):
            if len(form) < m:
                continue
            for i in range(len(form) - m + 1):
                piece = form[i : i + m]
                start = text.find(piece)
                while start >= 0:
                    spans.append((start, start + m, label))
                    start = text.find(piece, start + 1)
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    pos = 0
    cur_start, cur_end, cur_label = spans[0]
    for start, end, label in spans[1:]:
        if start <= cur_end:
            cur_end = max(cur_end, end)
            continue
        out.append(text[pos:cur_start])
        out.append(cur_label)
        pos = cur_end
        cur_start, cur_end, cur_label = start, end, label
    out.append(text[pos:cur_start])
    out.append(cur_label)
    out.append(text[cur_end:])
    return "".join(out)


def unsendable(key: str) -> str | None:
    """Why `key` cannot be sent in an HTTP header, or None when it can."""
    for c in key:
        if c in "\r\n":
            return "a line break"
        if not c.isascii():
            return "a non-ASCII character"
        if c.isspace():
            return "a space or tab"
        if not c.isprintable():
            return "a control character"
    return None
