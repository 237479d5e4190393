"""moto in server mode, inside the stack's process: the AWS that every local process talks to over HTTP.

moto's own `ThreadedMotoServer` binds its socket in the background thread, so a busy port
leaves `start()` waiting for ever; this one binds in the caller's thread and fails at once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from vre_app.local.serving import Serving

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

log = logging.getLogger(__name__)


class MotoServer:
    """moto's HTTP server on one host and port, served from a daemon thread until `stop()`."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._serving: Serving[BaseWSGIServer] = Serving()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind the port (`OSError` if it is taken) and start serving."""
        from moto.moto_api import state_manager
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        # werkzeug logs every request at INFO; the API's own log is the interesting one.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # moto moves every S3 key towards "restored" as its status is read, looking up its bucket on the way; a
        # multipart upload's part has none, so the state dump `vre_app mail` reads (/moto-api/data.json) fails
        # once per fresh part. Nothing here restores from Glacier: keys stay as they are.
        state_manager.set_transition("s3::keyrestore", {"progression": "manual", "times": 2**62})
        application = DomainDispatcherApplication(create_backend_app)
        server = make_server(self.host, self.port, application, threaded=True, request_handler=MotoRequestHandler)
        self._serving.start(server, "moto-server")
        log.debug("moto serving on %s", self.url)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and release the port; safe to call more than once."""
        self._serving.stop(timeout)
