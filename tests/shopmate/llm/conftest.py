"""Fixtures for the generator tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from .fakes import FakeOpenAIServer, openai_handler


@pytest.fixture
def fake_openai_server() -> Iterator[FakeOpenAIServer]:
    state = FakeOpenAIServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), openai_handler(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
