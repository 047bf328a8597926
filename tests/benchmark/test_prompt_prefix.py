"""Prompt-cache-friendly requests: every test of a tool mode starts with the same bytes.

Local servers (llama.cpp, vLLM) and hosted providers cache the longest common prompt prefix; with
the 30 tool schemas that prefix is ~5,000 tokens, minutes of prompt processing on a CPU. It is only
reused if the system prompt and the tool schemas are byte-identical across tests and come first.
"""

from __future__ import annotations

import json

import pytest

from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.benchmark.types import DIFFICULTIES, PROMPT_TYPES, TASK_TYPES
from pilotbench.models.base import ModelRequest
from pilotbench.models.openai_compat import request_body


@pytest.mark.parametrize("mode", ["native", "text"])
def test_system_prompt_and_tools_are_identical_across_tests(mode: str) -> None:
    prefixes = set()
    for task_type in TASK_TYPES:
        for instance in (0, 1):
            task = generate_instance(task_type, instance)
            for prompt_type in PROMPT_TYPES:
                for difficulty in (DIFFICULTIES[0], DIFFICULTIES[-1]):
                    prompt = render_prompt(task, difficulty, prompt_type, tool_mode=mode)
                    assert prompt.messages[0]["role"] == "system"
                    # The test-specific part comes after the shared one.
                    assert all(m["role"] != "system" for m in prompt.messages[1:])
                    body = request_body(ModelRequest("m", list(prompt.messages), list(prompt.tools or ()) or None), {})
                    prefixes.add(json.dumps([body["messages"][0], body.get("tools")]))
    assert len(prefixes) == 1
