"""The wire format both OpenAI-protocol providers share (`models.wire`): SDK-free, one common set-up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pilotbench.errors import ConfigError, ProviderError
from pilotbench.models import wire
from pilotbench.models.lean import LeanOpenAIProvider
from pilotbench.models.openai_compat import OpenAICompatProvider

KEY = "sk-test-FAKE-0123456789-abcd"
PROVIDERS = [OpenAICompatProvider, LeanOpenAIProvider]


def _modules_after(statement: str) -> dict[str, bool]:
    code = (
        f"import json, sys\n{statement}\n"
        "print(json.dumps({m: m in sys.modules for m in ('openai', 'httpx', 'pilotbench.models.openai_compat')}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_lean_provider_loads_without_the_sdk() -> None:
    loaded = _modules_after(
        "from pilotbench.models.lean import LeanOpenAIProvider\n"
        "LeanOpenAIProvider(kind='openai', base_url='http://127.0.0.1:9/v1', api_key='sk-test-FAKE-1234')"
    )
    assert loaded == {"openai": False, "httpx": False, "pilotbench.models.openai_compat": False}


def test_the_sdk_provider_module_does_load_the_sdk() -> None:
    # The check above would pass vacuously if the subprocess could not see the SDK at all.
    assert _modules_after("import pilotbench.models.openai_compat")["openai"] is True


@pytest.mark.parametrize("cls", PROVIDERS)
def test_both_transports_share_the_wire_set_up(cls: type[wire.WireProvider]) -> None:
    p = cls(kind="openai", base_url="http://127.0.0.1:9/v1", api_key=KEY, drop_params=["top_k"], max_response_bytes=4096)
    assert isinstance(p, wire.WireProvider)
    assert repr(p) == f"{cls.__name__}(kind='openai', base_url='http://127.0.0.1:9/v1', key=...abcd)"
    assert KEY not in repr(p) and p.key_label == "...abcd"
    assert p.rejected_params == frozenset({"top_k"}) and p.max_response_bytes == 4096
    assert p._params({"top_k": 5, "temperature": 0.2, "model": "x"}) == {"temperature": 0.2}
    with pytest.raises(ProviderError, match="malformed response: JSONDecodeError") as info:
        p._decode(b"not json " + KEY.encode())
    assert KEY not in str(info.value) and info.value.kind == "transient"


@pytest.mark.parametrize("cls", PROVIDERS)
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "anthropic", "api_key": KEY}, "unknown provider kind 'anthropic' (expected one of openai, azure)"),
        ({"kind": "openai", "api_key": ""}, "openai provider at http://h/v1: empty API key"),
        ({"kind": "azure", "api_key": KEY}, "azure provider at http://h/v1: api_version is required"),
    ],
)
def test_both_transports_refuse_the_same_set_ups(cls: type[wire.WireProvider], kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        cls(base_url="http://h/v1", **kwargs)
    assert str(info.value) == message


def test_an_answer_without_usage_says_so_and_one_with_usage_is_read() -> None:
    from pilotbench.benchmark.types import ModelOutput, Usage
    from pilotbench.models.wire import _to_output

    def answer(usage: object) -> dict:
        return {"choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}], "usage": usage}

    assert _to_output(answer({"prompt_tokens": 12, "completion_tokens": 0})).usage == Usage(12, 0)
    assert _to_output(answer(None)).usage == Usage(0, 0, reported=False)
    assert _to_output(answer({})).usage.reported is False
    assert ModelOutput(content="x").usage.reported is False  # built without usage: nothing said
