"""The fake Messages API server: scripted replies, recorded requests, disconnect detection.

Replies are consumed in order, one per POST to /v1/messages (count_tokens requests are answered
separately and do not consume replies). When the queue is empty the ``default`` reply is used.
The wire format follows the real API: the SSE event sequence message_start, content_block_start,
ping, content_block_delta..., content_block_stop, message_delta, message_stop; error bodies
``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}``.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Reply:
    """One scripted answer to a POST /v1/messages."""

    kind: str  # "stream" | "json" | "error" | "hang" | "stream_error" | "tool_use"
    chunks: list[str] = field(default_factory=list)
    status: int = 200
    error_type: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # pause between streamed chunks (also before the first one)
    hang_s: float = 30.0
    usage: dict[str, int] = field(default_factory=dict)
    tool_name: str = ""
    tool_input: Any = None

    @classmethod
    def stream(
        cls, chunks: list[str], delay_s: float = 0.0, usage: dict[str, int] | None = None
    ) -> Reply:
        return cls("stream", chunks=list(chunks), delay_s=delay_s, usage=dict(usage or {}))

    @classmethod
    def json(cls, text: str, usage: dict[str, int] | None = None) -> Reply:
        return cls("json", chunks=[text], usage=dict(usage or {}))

    @classmethod
    def tool_use(cls, name: str, tool_input: Any, usage: dict[str, int] | None = None) -> Reply:
        """A non-streamed message whose content is one `tool_use` block (stop_reason "tool_use")."""
        return cls("tool_use", usage=dict(usage or {}), tool_name=name, tool_input=tool_input)

    @classmethod
    def error(
        cls, status: int, message: str = "", headers: dict[str, str] | None = None, error_type: str | None = None
    ) -> Reply:
        kind = error_type or ERROR_TYPES.get(status, "api_error")
        return cls("error", status=status, error_type=kind, message=message or kind, headers=dict(headers or {}))

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Reply:
        """Accept the request and send nothing (until `seconds` pass or the server stops)."""
        return cls("hang", hang_s=seconds)

    @classmethod
    def stream_error(cls, chunks_before: list[str], error_type: str = "overloaded_error", message: str = "Overloaded") -> Reply:
        """Start a normal stream, then send an `event: error` after the given chunks."""
        return cls("stream_error", chunks=list(chunks_before), error_type=error_type, message=message)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Disconnect:
    """The client closed a stream before it ended."""

    at: float  # time.monotonic()
    chunks_sent: int


class FakeAnthropicServer:
    def __init__(self, expected_key: str | None = None, model: str = "claude-sonnet-5-5") -> None:
        self.expected_key = expected_key
        self.model = model
        self.replies: deque[Reply] = deque()
        self.default = Reply.stream(["Hello from the fake API."])
        self.requests: list[RecordedRequest] = []
        self.disconnects: list[Disconnect] = []
        self.default_usage = {"input_tokens": 1200, "output_tokens": 40, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeAnthropicServer:
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-anthropic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start() the server first"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- scripting ---------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self.replies.popleft() if self.replies else self.default

    def message_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/v1/messages")]

    def wait_for_disconnect(self, timeout: float) -> Disconnect | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.disconnects:
                return self.disconnects[0]
            time.sleep(0.005)
        return None


def _make_handler(server: FakeAnthropicServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = RecordedRequest("POST", self.path, headers, body)
            server.requests.append(request)
            if server.expected_key is not None and not _has_key(headers, server.expected_key):
                self._send_error_json(401, "authentication_error", "invalid x-api-key", {})
                return
            path = self.path.split("?")[0].rstrip("/")
            if path.endswith("/v1/messages/count_tokens"):
                self._send_json(200, {"input_tokens": max(1, len(body) // 4)})
                return
            if not path.endswith("/v1/messages"):
                self._send_error_json(404, "not_found_error", f"Not found: {self.path}", {})
                return
            reply = server.next_reply()
            payload = request.json or {}
            if reply.kind == "error":
                self._send_error_json(reply.status, reply.error_type, reply.message, reply.headers)
            elif reply.kind == "hang":
                server._stopping.wait(reply.hang_s)
                self.close_connection = True
            elif reply.kind == "tool_use":
                message = self._message(payload, "", reply)
                message["content"] = [
                    {"type": "tool_use", "id": "toolu_fake_0001", "name": reply.tool_name, "input": reply.tool_input}
                ]
                message["stop_reason"] = "tool_use"
                self._send_json(200, message)
            elif reply.kind == "json" or not payload.get("stream"):
                self._send_json(200, self._message(payload, "".join(reply.chunks), reply))
            else:
                self._send_stream(payload, reply)

        # --- responses -----------------------------------------------------------------------

        def _usage(self, reply: Reply) -> dict[str, int]:
            return {**server.default_usage, **reply.usage}

        def _message(self, payload: dict[str, Any], text: str, reply: Reply) -> dict[str, Any]:
            usage = self._usage(reply)
            return {
                "id": "msg_fake_0001",
                "type": "message",
                "role": "assistant",
                "model": payload.get("model", server.model),
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage,
            }

        def _send_json(self, status: int, obj: Any, extra_headers: dict[str, str] | None = None) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", "req_fake_0001")
            for key, value in (extra_headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def _send_error_json(self, status: int, error_type: str, message: str, headers: dict[str, str]) -> None:
            body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_fake_0001"}
            self._send_json(status, body, headers)

        def _send_stream(self, payload: dict[str, Any], reply: Reply) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream; charset=utf-8")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.send_header("request-id", "req_fake_0001")
            self.end_headers()
            self.close_connection = True
            usage = self._usage(reply)
            start_message = self._message(payload, "", reply)
            start_message["content"] = []
            start_message["stop_reason"] = None
            start_message["usage"] = {**usage, "output_tokens": 1}
            sent = 0
            try:
                self._event("message_start", {"type": "message_start", "message": start_message})
                self._event(
                    "content_block_start",
                    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                )
                self._event("ping", {"type": "ping"})
                for chunk in reply.chunks:
                    if reply.delay_s and self._client_closed(reply.delay_s):
                        raise ConnectionResetError
                    self._event(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": chunk}},
                    )
                    sent += 1
                if reply.kind == "stream_error":
                    self._event("error", {"type": "error", "error": {"type": reply.error_type, "message": reply.message}})
                    return
                self._event("content_block_stop", {"type": "content_block_stop", "index": 0})
                self._event(
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                        "usage": {"output_tokens": usage["output_tokens"]},
                    },
                )
                self._event("message_stop", {"type": "message_stop"})
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                server.disconnects.append(Disconnect(time.monotonic(), sent))

        def _event(self, name: str, data: dict[str, Any]) -> None:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        def _client_closed(self, wait_s: float) -> bool:
            """Wait up to `wait_s`; True as soon as the client has closed its end."""
            sock: socket.socket = self.connection
            deadline = time.monotonic() + wait_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or server._stopping.is_set():
                    return server._stopping.is_set()
                readable, _, _ = select.select([sock], [], [], min(remaining, 0.01))
                if readable:
                    try:
                        if sock.recv(1, socket.MSG_PEEK) == b"":
                            return True
                    except OSError:
                        return True

    return Handler


def _has_key(headers: dict[str, str], key: str) -> bool:
    return headers.get("x-api-key") == key or headers.get("authorization") == f"Bearer {key}"
