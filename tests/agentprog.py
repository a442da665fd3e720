#!/usr/bin/env python3
"""A real coding-agent program for the tests: it edits files in its cwd and reports like one.

It takes Claude Code's arguments (``-p PROMPT``, ``--output-format json``,
``--resume S``, ``--session-id S``, ``--max-budget-usd X``, ...; the prompt on
stdin when there is no ``-p``) and prints Claude-Code-style JSON (``result``,
``session_id``, ``total_cost_usd``, ``is_error``), or a ``<result>{...}</result>``
block, or plain text. What it does is set by environment variables (the agent
step passes them as declared ``env``):

- ``AGENTPROG_LOG``: a file it appends one JSON line to per run (argv, cwd, env names,
  the files it found in its working directory);
- ``AGENTPROG_EDIT``: ``path=text;path=text`` files to write (default ``agent.txt`` = prompt);
- ``AGENTPROG_FEEDBACK_EDIT``: the edits instead, when the prompt says it was sent back;
- ``AGENTPROG_COST``: the cost it reports (default 0.01; ``none``: no cost);
- ``AGENTPROG_SLEEP``: seconds to wait before finishing; ``AGENTPROG_HANG=1``: forever;
  ``AGENTPROG_WAIT_FOR``: until this file exists;
- ``AGENTPROG_FAIL``: exit with this code, reporting ``is_error``; ``AGENTPROG_FAIL_ONCE``:
  exit 1 the first time (when this file does not exist yet; it is created);
- ``AGENTPROG_CHILD``: start a grandchild that sleeps forever and write its pid here;
- ``AGENTPROG_FORMAT``: ``claude`` (default), ``block`` or ``text``;
- ``AGENTPROG_PROBE``: ``connect:HOST:PORT`` and ``write:PATH`` items (``;``-separated):
  tried, and the outcome of each reported under ``probes``;
- ``AGENTPROG_ECHO``: names of variables whose values it prints;
- ``CLAUDE_CONFIG_DIR``: keep sessions as Claude Code does, one transcript per session
  under ``projects/<its cwd, [^A-Za-z0-9] -> ->/<id>.jsonl``, and look a ``--resume``
  session up only there (failing like Claude Code when it is not found); the
  messages and directories the transcript held are logged as ``history``.

Standard library only: it runs under whatever ``python3`` is on the agent's PATH.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path


def _args(argv: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    flags = {"--output-format", "--resume", "--session-id", "--max-budget-usd", "--max-turns"}
    flags |= {"--allowedTools", "--model", "--permission-mode", "-p"}
    i = 0
    while i < len(argv):
        if argv[i] in flags and i + 1 < len(argv):
            out[argv[i]] = argv[i + 1]
            i += 2
        else:
            i += 1
    return out


def _probe(item: str) -> str:
    kind, _, target = item.partition(":")
    try:
        if kind == "connect":
            host, _, port = target.rpartition(":")
            with socket.create_connection((host, int(port)), timeout=2):
                return "ok"
        if kind == "write":
            Path(target).write_text("written by the agent\n")
            return "ok"
    except OSError as exc:
        return f"error: {type(exc).__name__}"
    return "unknown probe"


def _tree() -> dict[str, str]:
    """Every file of the working directory (but git's) and its text, as found at start."""
    return {
        str(p.relative_to(Path.cwd())): p.read_text(errors="replace")
        for p in sorted(Path.cwd().rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def _transcript(session: str) -> Path:
    cwd = re.sub(r"[^A-Za-z0-9]", "-", os.path.realpath(Path.cwd()))
    return Path(os.environ["CLAUDE_CONFIG_DIR"]) / "projects" / cwd / f"{session}.jsonl"


def _converse(session: str, resumed: bool, prompt: str) -> list[dict[str, str]] | None:
    """The earlier messages of ``session`` (None: not found here); this prompt appended."""
    path = _transcript(session)
    if resumed and not path.is_file():
        return None
    lines = path.read_text().splitlines() if path.is_file() else []
    history = [json.loads(line) for line in lines if line.strip()]
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"type": "user", "sessionId": session, "cwd": os.path.realpath(Path.cwd())}
    # What it was shown of its environment stays in its transcript, as an agent's would.
    seen = {
        n: os.environ.get(n, "")
        for n in filter(None, os.environ.get("AGENTPROG_ECHO", "").split(","))
    }
    with path.open("a") as f:
        f.write(json.dumps({**record, "message": prompt, "seen": seen}) + "\n")
    return [{"message": h["message"], "cwd": h["cwd"]} for h in history]


def main() -> int:
    args = _args(sys.argv[1:])
    found = _tree() if os.environ.get("AGENTPROG_LOG") else {}
    prompt = args["-p"] if "-p" in args else sys.stdin.read()
    env = os.environ
    session = args.get("--resume") or args.get("--session-id") or str(uuid.uuid4())
    history = None
    if env.get("CLAUDE_CONFIG_DIR"):
        history = _converse(session, "--resume" in args, prompt)
        if history is None:
            print(f"No conversation found with session ID: {session}", file=sys.stderr)
            return 1
    if env.get("AGENTPROG_CHILD"):
        child = subprocess.Popen(
            # The prompt rides along in its argv: tests find it by its command line.
            [sys.executable, "-c", "import time; time.sleep(3600)", prompt[:80]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        Path(env["AGENTPROG_CHILD"]).write_text(str(child.pid))
    edits = env.get("AGENTPROG_EDIT")
    if "sent back" in prompt and env.get("AGENTPROG_FEEDBACK_EDIT"):
        edits = env["AGENTPROG_FEEDBACK_EDIT"]
    if edits is None:
        Path("agent.txt").write_text(prompt + "\n")
    else:
        for pair in filter(None, edits.split(";")):
            path, _, text = pair.partition("=")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text + "\n")
    wanted = filter(None, env.get("AGENTPROG_PROBE", "").split(";"))
    probes = {item: _probe(item) for item in wanted}
    if env.get("AGENTPROG_LOG"):
        line = {
            "argv": sys.argv[1:],
            "cwd": str(Path.cwd()),
            "env": sorted(env),
            "probes": probes,
            "pid": os.getpid(),
            "tree": found,
            "history": history,
            "claude_md": Path("CLAUDE.md").read_text() if Path("CLAUDE.md").exists() else None,
        }
        with open(env["AGENTPROG_LOG"], "a") as f:  # noqa: PTH123
            f.write(json.dumps(line) + "\n")
    if env.get("AGENTPROG_WAIT_FOR"):
        while not Path(env["AGENTPROG_WAIT_FOR"]).exists():
            time.sleep(0.05)
    if env.get("AGENTPROG_HANG"):
        while True:
            time.sleep(1)
    if env.get("AGENTPROG_SLEEP"):
        time.sleep(float(env["AGENTPROG_SLEEP"]))
    for name in filter(None, env.get("AGENTPROG_ECHO", "").split(",")):
        print(f"{name}={env.get(name, '')}", file=sys.stderr)
    fail = int(env.get("AGENTPROG_FAIL", "0"))
    once = env.get("AGENTPROG_FAIL_ONCE")
    if once and not Path(once).exists():
        Path(once).write_text("failed\n")
        fail = 1
    cost_text = env.get("AGENTPROG_COST", "0.01")
    cost = None if cost_text == "none" else float(cost_text)
    result = {
        "type": "result",
        "subtype": "error_during_execution" if fail else "success",
        "is_error": bool(fail),
        "result": f"done: {prompt[:200]}",
        "session_id": session,
        "total_cost_usd": cost,
        "num_turns": 1,
        "probes": probes,
        "args": args,
    }
    fmt = env.get("AGENTPROG_FORMAT", "claude")
    if fmt == "claude":
        print(json.dumps(result))
    elif fmt == "block":
        print("working...\nall done\n<result>" + json.dumps(result) + "</result>")
    else:
        print(result["result"])
    return fail


if __name__ == "__main__":
    sys.exit(main())
