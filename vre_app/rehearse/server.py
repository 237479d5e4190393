"""moto's server on a free loopback port, behind the harness's patch layer (`vre_app.rehearse.gaps`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from vre_app.local.serving import Serving
from vre_app.rehearse.gaps import MotoGaps

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

HOST = "127.0.0.1"


class PatchedMoto:
    """moto in server mode on 127.0.0.1 and a port the OS picks, served from a daemon thread until `stop()`."""

    def __init__(self) -> None:
        self._serving: Serving[BaseWSGIServer] = Serving()
        self.gaps: MotoGaps | None = None

    @property
    def url(self) -> str:
        server = self._serving.server
        if server is None:
            raise RuntimeError("moto is not serving")
        return f"http://{HOST}:{server.server_port}"

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # moto notes each alarm its CloudFormation skips (AWS-only by design, see vre_app.infra.AWS_ONLY).
        logging.getLogger("moto").setLevel(logging.ERROR)
        self.gaps = MotoGaps(DomainDispatcherApplication(create_backend_app))
        server = make_server(HOST, 0, self.gaps, threaded=True, request_handler=MotoRequestHandler)
        self._serving.start(server, "rehearsal-moto")

    def stop(self) -> None:
        self._serving.stop()
