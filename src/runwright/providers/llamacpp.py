"""llama.cpp server children, one per model file per runner process.

Started lazily by the first call that needs one (in a thread: starting blocks),
shared by every later call of the process, health-checked before use and
stopped at interpreter exit. A child whose parent dies ends itself (its stdin
closes; on Linux the kernel kills it too), so none is ever left orphaned.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runwright.providers.errors import ProviderUnavailable

CHILD = Path(__file__).with_name("llamacpp_child.py")
#: How long a stopping child is given before it is killed.
STOP_GRACE = 5.0
#: Longest tail of the child's stderr quoted when it fails to start.
STDERR_TAIL = 1500


@dataclass(slots=True)
class _Child:
    process: subprocess.Popen[str]
    url: str
    stderr: IO[bytes]


_lock = threading.Lock()
_children: dict[tuple[str, int, int, int], _Child] = {}
_owner = os.getpid()


def server_url(
    model: Path,
    *,
    provider: str,
    threads: int,
    context_tokens: int,
    parallel: int,
    timeout: float,
) -> str:
    """The ``…/v1`` URL of a healthy server for ``model``, starting it if needed."""
    global _owner
    key = (str(model), threads, context_tokens, parallel)
    with _lock:
        if _owner != os.getpid():  # a forked process owns none of its parent's children
            _children.clear()
            _owner = os.getpid()
        child = _children.get(key)
        if child is not None and child.process.poll() is not None:
            del _children[key]  # it died (killed from outside): start another
            child = None
        if child is None:
            child = _start(model, provider, threads, context_tokens, parallel, timeout)
            _children[key] = child
        return child.url


def running() -> list[int]:
    """The pids of this process's live server children (for tests and diagnostics)."""
    with _lock:
        return [c.process.pid for c in _children.values() if c.process.poll() is None]


def stop_all() -> None:
    """Stop every child of this process: close its stdin, then kill it if it lingers."""
    with _lock:
        children = list(_children.values()) if _owner == os.getpid() else []
        _children.clear()
    for child in children:
        _stop(child)


def _start(
    model: Path, provider: str, threads: int, context_tokens: int, parallel: int, timeout: float
) -> _Child:
    # Passive OpenMP threads: spinning ones starve each other (and the engine) on a shared CPU.
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    # llama.cpp logs a lot; kept (until the child stops) only to explain a failure.
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the _Child, closed in _stop
    argv = [sys.executable, str(CHILD), str(os.getpid()), str(model)]
    argv += [str(threads), str(context_tokens), str(parallel)]
    process = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        text=True,
    )
    deadline = time.monotonic() + timeout
    try:
        address = _first_line(process, deadline)
        if not address.startswith("http://127.0.0.1:"):
            raise _failed(provider, model, process, stderr, f"it printed {address!r}")
        _wait_healthy(address, deadline, provider, model, process, stderr)
    except BaseException:
        _stop(_Child(process, "", stderr))
        raise
    return _Child(process, f"{address}/v1", stderr)


def _first_line(process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "(nothing within the timeout)"
        ready, _, _ = select.select([process.stdout], [], [], min(left, 0.5))
        if ready:
            return process.stdout.readline().strip() or "(nothing: it exited)"
        if process.poll() is not None:
            return "(nothing: it exited)"


def _wait_healthy(
    address: str,
    deadline: float,
    provider: str,
    model: Path,
    process: subprocess.Popen[str],
    stderr: IO[bytes],
) -> None:
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise _failed(provider, model, process, stderr, "it exited after starting")
        try:
            with urllib.request.urlopen(f"{address}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
                last = f"/health answered {reply.status}"
        except OSError as exc:  # 503 while loading is an HTTPError, an OSError too
            last = str(exc)
        time.sleep(0.05)  # polling a server that is loading, with a deadline
    raise _failed(provider, model, process, stderr, f"it did not become healthy ({last})")


def _failed(
    provider: str, model: Path, process: subprocess.Popen[str], stderr: IO[bytes], why: str
) -> ProviderUnavailable:
    if process.poll() is None:
        process.kill()
        process.wait()
    stderr.seek(0)
    tail = stderr.read().decode("utf-8", errors="replace")[-STDERR_TAIL:].strip()
    return ProviderUnavailable(
        f"provider '{provider}': llama.cpp's server for {model} did not start: {why}; "
        f"its last output: {tail or '(none)'}",
        provider=provider,
    )


def _stop(child: _Child) -> None:
    process = child.process
    if process.stdin is not None and not process.stdin.closed:
        with contextlib.suppress(OSError):  # already broken: the child is going anyway
            process.stdin.close()
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
    child.stderr.close()


atexit.register(stop_all)
