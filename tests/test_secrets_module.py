"""`pilotbench.secrets`: one label for every key, and redaction of every shape a key comes back in."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from pilotbench.secrets import key_label, redact, unsendable

KEY = 'sk-q-SECRETq"\\9999wxyz'


@pytest.mark.parametrize(
    "shape",
    [KEY, repr(KEY)[1:-1], json.dumps(KEY)[1:-1], json.dumps(json.dumps(KEY))[1:-1], repr(f"Bearer {KEY}"),
     quote(KEY, safe=""), quote_plus(KEY), KEY[:-4], KEY[3:-2], KEY[:12], KEY[-12:]],
    ids=["bare", "repr", "json", "json-twice", "repr-of-header", "url", "form", "all-but-four", "middle",
         "prefix-12", "suffix-12"],
)
def test_every_shape_and_long_piece_is_redacted(shape: str) -> None:
    text = f"server said: <{shape}> (trace 42)"
    out = redact(text, [KEY])
    assert "SECRETq" not in out and "9999wxyz" not in out.replace("...wxyz", "")
    assert out.startswith("server said: <") and out.endswith("> (trace 42)") and "...wxyz" in out


def test_short_pieces_and_other_text_are_left_alone() -> None:
    assert redact("sk-q- and wxyz and 9999", [KEY]) == "sk-q- and wxyz and 9999"
    assert redact("", [KEY]) == "" and redact("plain", [None, ""]) == "plain"


def test_short_keys_are_masked_entirely_and_redacted_in_every_shape() -> None:
    assert key_label("Zq9") == key_label("Zq9x") == "...****"
    assert key_label("sk-test-FAKE-0000") == "...0000" and key_label(None) == key_label("") == "<none>"
    assert redact("key 'Zq9' and %22Zq9%22", ["Zq9"]) == "key '...****' and %22...****%22"


@pytest.mark.parametrize(("key", "problem"), [("a\nb", "a line break"), ("a\rb", "a line break"), ("ké", "a non-ASCII character"),
                                              ("a b", "a space or tab"), ("a\x01b", "a control character")])
def test_unsendable_keys(key: str, problem: str) -> None:
    assert unsendable(key) == problem


def test_ordinary_keys_are_sendable() -> None:
    assert unsendable(KEY) is None and unsendable("sk-proj-AbC_123-xyz") is None
