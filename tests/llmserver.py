"""A real HTTP server on 127.0.0.1 speaking the OpenAI and Anthropic wire protocols.

For tests: it records every request and replies from a script of faults and
canned answers, then with a default reply built from the request. Run it as a
context manager; it listens on an ephemeral port in a daemon thread.

    with LLMServer() as server:
        server.script(Reply.error(500), Reply.openai("hello"))
        ... OpenAI base_url = server.openai_url, Anthropic base_url = server.url ...
        assert len(server.requests) == 2
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: Any
    #: time.monotonic() when the request arrived (to measure waits between requests).
    at: float = 0.0

    @property
    def protocol(self) -> str:
        return "anthropic" if self.path == ANTHROPIC_PATH else "openai"


@dataclass(frozen=True)
class Reply:
    """What to answer: status, headers, a JSON body or raw bytes, after a delay."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (a reply slower than the client's timeout).
    delay: float = 0.0
    #: Reply text for the protocol of the request (when ``body``/``raw`` are unset).
    text: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    #: Streamed replies (``stream: true``): the text's pieces (default: word by word).
    pieces: tuple[str, ...] | None = None
    #: Close the connection after this many pieces, without ``[DONE]`` (a dropped stream).
    drop_after: int | None = None
    #: After ``gate_after`` pieces, wait until ``gate`` is set (a reply still being generated).
    gate: threading.Event | None = None
    gate_after: int = 1

    @classmethod
    def error(cls, status: int, message: str = "injected failure", **headers: str) -> Reply:
        return cls(
            status=status,
            body={"error": {"message": message, "type": "injected"}},
            headers={k.replace("_", "-"): v for k, v in headers.items()},
        )

    @classmethod
    def slow(cls, seconds: float, text: str = "late") -> Reply:
        return cls(delay=seconds, text=text)

    @classmethod
    def malformed(cls) -> Reply:
        return cls(
            raw=b'{"choices": [ this is not json', headers={"Content-Type": "application/json"}
        )


def openai_body(request: Request, text: str, usage: dict[str, int]) -> dict[str, Any]:
    body = request.body if isinstance(request.body, dict) else {}
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": body.get("model", "unknown"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": usage.get("input", 11),
            "completion_tokens": usage.get("output", 7),
            "total_tokens": usage.get("input", 11) + usage.get("output", 7),
            "prompt_tokens_details": {"cached_tokens": usage.get("cached", 0)},
        },
    }


def anthropic_body(request: Request, text: str, usage: dict[str, int]) -> dict[str, Any]:
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("tools"):
        content: list[dict[str, Any]] = [
            {"type": "tool_use", "id": "toolu_1", "name": "output", "input": json.loads(text)}
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": text}]
        stop = "end_turn"
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "unknown"),
        "content": content,
        "stop_reason": stop,
        "usage": {
            "input_tokens": usage.get("input", 11),
            "output_tokens": usage.get("output", 7),
            "cache_creation_input_tokens": usage.get("cache_creation", 0),
            "cache_read_input_tokens": usage.get("cached", 0),
        },
    }


def split_words(text: str) -> tuple[str, ...]:
    """``"a b c"`` -> ``("a", " b", " c")``: how a model's tokens arrive, roughly."""
    words = text.split(" ")
    return tuple(w if i == 0 else " " + w for i, w in enumerate(words))


def openai_chunks(request: Request, pieces: tuple[str, ...], usage: dict[str, int]) -> list[Any]:
    """The ``data:`` payloads of a streamed chat completion, usage last (as OpenAI does)."""
    body = request.body if isinstance(request.body, dict) else {}
    model = body.get("model", "unknown")

    def chunk(delta: dict[str, str], finish: str | None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    out: list[Any] = [chunk({"role": "assistant", "content": ""}, None)]
    out.extend(chunk({"content": p}, None) for p in pieces)
    out.append(chunk({}, "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        whole = openai_body(request, "", usage)
        out.append({**{k: whole[k] for k in ("id", "model", "usage")}, "choices": []})
    return out


def default_text(request: Request) -> str:
    """``echo: <last user message>``: lets a test see what the model was sent."""
    body = request.body if isinstance(request.body, dict) else {}
    messages = body.get("messages") or [{}]
    return f"echo: {messages[-1].get('content', '')}"


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) refuses connections when hundreds of steps call at
    # once; a real server's is in the hundreds.
    request_queue_size = 512


class LLMServer:
    """The loopback server; ``script()`` queues replies, ``requests`` records traffic."""

    def __init__(self, *, responder: Callable[[Request], str] = default_text) -> None:
        self.requests: list[Request] = []
        self._script: list[Reply] = []
        self._responder = responder
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        with self._lock:
            self._script.extend(replies)

    def __enter__(self) -> LLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # slow replies stop waiting at once
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def _next(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self._script.pop(0) if self._script else Reply()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are separate writes: without this, Nagle's algorithm and
            # delayed ACKs add ~40 ms to every keep-alive reply.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", errors="replace")
                request = Request(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                reply = server._next(request)
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                if reply.raw is not None:
                    payload = reply.raw
                else:
                    data = reply.body
                    if data is None:
                        if self.path not in (OPENAI_PATH, ANTHROPIC_PATH):
                            data, status = {"error": {"message": f"no route {self.path}"}}, 404
                            reply = Reply(status=status, body=data)
                        text = reply.text if reply.text is not None else server._responder(request)
                        if (
                            request.protocol == "openai"
                            and isinstance(body, dict)
                            and body.get("stream")
                            and data is None
                        ):
                            self._stream(request, reply, text)
                            return
                        build = anthropic_body if request.protocol == "anthropic" else openai_body
                        data = data or build(request, text, reply.usage)
                    payload = json.dumps(data).encode()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): that is the fault under test

            def _stream(self, request: Request, reply: Reply, text: str) -> None:
                pieces = reply.pieces if reply.pieces is not None else split_words(text)
                chunks = openai_chunks(request, pieces, reply.usage)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for n, c in enumerate(chunks):
                        # chunks[0] is the role; chunks[n] for n >= 1 carries piece n.
                        if reply.drop_after is not None and n > reply.drop_after:
                            self.close_connection = True
                            return  # no terminating chunk, no [DONE]: dropped mid-stream
                        if reply.gate is not None and n == reply.gate_after + 1:
                            while not reply.gate.wait(0.05):
                                if server._stopping.is_set():
                                    return
                        self._event(json.dumps(c))
                    self._event("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _event(self, data: str) -> None:
                payload = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
                self.wfile.flush()

        return Handler
