"""A storage host whose answers follow a script, for what the simulator cannot do on its own: a file that changes
between two requests, a body that stalls and never resumes by itself.

Each path has a list of :class:`Answer`s, one per request in order (the last one answers every later request).
An answer serves ``body`` with its ``etag``, honours ``Range: bytes=N-`` (206, as S3 does), and may stop at byte
``cut_at`` (the connection closes) or ``stall_at`` (the connection stays open, silent, for ``stall_seconds``).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclasses.dataclass
class Answer:
    body: bytes
    etag: str
    cut_at: int | None = None
    stall_at: int | None = None
    stall_seconds: float = 20.0


@dataclasses.dataclass
class Request:
    path: str
    range: str | None
    authorization: bool


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        storage = self.server.storage
        path = self.path.partition("?")[0]
        answer = storage.next_answer(path, Request(path, self.headers.get("Range"), "Authorization" in self.headers))
        if answer is None:
            self.send_error(404)
            return
        body, start = answer.body, 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        self.send_response(206 if match else 200)
        if match:
            start = int(match[1])
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("Content-Type", "binary/octet-stream")
        self.send_header("ETag", answer.etag)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        stop = next((at for at in (answer.cut_at, answer.stall_at) if at is not None), len(body))
        self.wfile.write(body[start:stop])
        self.wfile.flush()
        if answer.stall_at is not None:
            storage.released.wait(answer.stall_seconds)
        if stop < len(body):
            self.close_connection = True

    def log_message(self, *_args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    storage: ScriptedStorage


class ScriptedStorage:
    """``with ScriptedStorage() as storage: storage.script(path, [Answer(...), ...]); storage.url + path``."""

    def __init__(self) -> None:
        self._answers: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self.released = threading.Event()  # ends every stall
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.storage = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def script(self, path: str, answers: list[Answer]) -> None:
        with self._lock:
            self._answers[path] = list(answers)

    def next_answer(self, path: str, request: Request) -> Answer | None:
        with self._lock:
            self.requests.append(request)
            answers = self._answers.get(path)
            if not answers:
                return None
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def __enter__(self) -> ScriptedStorage:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
