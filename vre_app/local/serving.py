"""A server of the local stack (or of the rehearsal) run on a daemon thread, and stopped and released once."""

from __future__ import annotations

import threading
from typing import Generic, Protocol, TypeVar


class Stoppable(Protocol):
    """What `socketserver` servers and werkzeug's both are."""

    def serve_forever(self, poll_interval: float = ...) -> None: ...

    def shutdown(self) -> None: ...

    def server_close(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


class Serving(Generic[S]):
    """One server on its thread: `start` it, read `server` while it runs, `stop` it (safe more than once)."""

    def __init__(self) -> None:
        self.server: S | None = None
        self._thread: threading.Thread | None = None

    def start(self, server: S, name: str) -> S:
        """Serve `server` (already bound) from a daemon thread called `name`; returns it."""
        self.server = server
        self._thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        self._thread.start()
        return server

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and release the port."""
        server, thread = self.server, self._thread
        self.server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout)
