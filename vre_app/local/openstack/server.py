"""The local OpenStack over HTTP: one port, each service below its own prefix, and `/_control/` for the knobs.

`/identity` (Keystone), `/compute/v2.1` (Nova), `/image` (Glance) and `/network` (Neutron) are what the
service catalog lists, so openstacksdk finds them as it finds a real cloud's. Every call to them is
counted, may be delayed, dropped or answered 500/503 as the knobs say, and needs a token Keystone issued
(version documents excepted, as on a real cloud). The control endpoint is not counted:

    GET  /_control/calls            the counters: total, auths, discovery, by_service, by_kind, log
    GET  /_control/knobs            the knobs in force
    POST /_control/knobs            change some knobs (a JSON object); `/_control/faults` is the same
    GET  /_control/state            servers and volumes
    POST /_control/reset            forget servers, volumes and counters, restore the knobs, reseed
    POST /_control/reset?only=calls forget the counters only
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from vre_app.local.openstack import glance, keystone, neutron, nova
from vre_app.local.openstack.api import ApiError, ApiRequest, ApiResponse, UnauthorizedError
from vre_app.local.openstack.state import Catalog, CloudState, Knobs, KnobsError
from vre_app.local.serving import Serving

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_CLOUD_NAME = "hpc"
HANDLERS: dict[str, Callable[[CloudState, ApiRequest], ApiResponse]] = {
    "identity": keystone.handle,
    "compute": nova.handle,
    "image": glance.handle,
    "network": neutron.handle,
}
# Paths (below a service's prefix) that serve version documents: discovery, open to anyone.
DISCOVERY_PATHS = {
    "identity": ((), ("v3",)),
    "compute": ((), ("v2.1",)),
    "image": ((), ("v2",)),
    "network": ((), ("v2.0",)),
}
# What a load balancer in front of an overloaded service answers.
UNAVAILABLE_HTML = (
    "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"
)
NEUTRON_TYPES = {400: "BadRequest", 404: "NetworkNotFound", 405: "HTTPMethodNotAllowed"}
Drop = Literal["drop"]


def handle(
    state: CloudState,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    base_url: str,
    sleep: Callable[[float], None] = time.sleep,
) -> ApiResponse | Drop:
    """One HTTP request, from method and target to the answer (or "drop": close the connection unanswered)."""
    parts = urlsplit(target)
    segments = tuple(segment for segment in parts.path.split("/") if segment)
    query = parse_qs(parts.query, keep_blank_values=True)
    if segments[:1] == ("_control",):
        return _control(state, method, segments[1:], query, body)
    service = segments[0] if segments else ""
    if service not in HANDLERS:
        return ApiResponse(404, {"error": {"code": 404, "title": "Not Found", "message": f"No service at {target}"}})
    lowered = {name.lower(): value for name, value in headers.items()}
    request = ApiRequest(method, service, segments[1:], query, lowered, body, base_url)
    discovery = request.path in DISCOVERY_PATHS[service]

    if delay := state.latency(service):
        sleep(delay)
    fault = state.draw_fault(service)
    if fault == "drop":
        state.record(service, method, request.kind, "dropped", discovery=discovery)
        return "drop"
    if fault is not None:
        response = _fault_response(service, fault)
    else:
        try:
            if service != "identity" and not discovery and not state.token_valid(request.token):
                raise UnauthorizedError("The request you have made requires authentication.")
            response = HANDLERS[service](state, request)
        except ApiError as exc:
            response = _error_response(service, exc)
    state.record(service, method, request.kind, response.status, discovery=discovery)
    request_id = f"req-{uuid.uuid4()}"
    return ApiResponse(
        response.status,
        response.body,
        {**response.headers, "x-openstack-request-id": request_id},
        response.text,
        response.content_type,
    )


def _fault_response(service: str, status: int) -> ApiResponse:
    if status == 503:
        return ApiResponse(503, text=UNAVAILABLE_HTML, content_type="text/html")
    error = ApiError(
        "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the "
        "Nova API log if possible."
    )
    return _error_response(service, error)


def _error_response(service: str, error: ApiError) -> ApiResponse:
    """The error in the shape each service answers with (keystonemiddleware's for a missing token)."""
    if service == "identity" or isinstance(error, UnauthorizedError):
        body = {"error": {"code": error.status, "title": error.title, "message": error.message}}
        return ApiResponse(
            error.status, body, {"WWW-Authenticate": 'Keystone uri="/identity"'} if error.status == 401 else {}
        )
    if service == "compute":
        return ApiResponse(error.status, {error.nova_key: {"code": error.status, "message": error.message}})
    if service == "network":
        kind = NEUTRON_TYPES.get(error.status, "HTTPInternalServerError")
        return ApiResponse(error.status, {"NeutronError": {"type": kind, "message": error.message, "detail": ""}})
    html = (
        f"<html>\n <head>\n  <title>{error.status} {error.title}</title>\n </head>\n <body>\n"
        f"  <h1>{error.status} {error.title}</h1>\n  {error.message}<br /><br />\n\n\n\n </body>\n</html>"
    )
    return ApiResponse(error.status, text=html, content_type="text/html; charset=UTF-8")


def _control(
    state: CloudState, method: str, path: tuple[str, ...], query: Mapping[str, list[str]], body: bytes
) -> ApiResponse:
    match path, method:
        case ("calls",), "GET":
            with state.lock:
                return ApiResponse(200, state.calls.as_json())
        case ("knobs" | "faults",), "GET":
            return ApiResponse(200, _knobs_json(state.knobs))
        case ("knobs" | "faults",), "POST":
            try:
                values = json.loads(body or b"{}")
                if not isinstance(values, dict):
                    raise KnobsError("the knobs are a JSON object")
                return ApiResponse(200, _knobs_json(state.set_knobs(values)))
            except (ValueError, KnobsError) as exc:
                return ApiResponse(400, {"error": str(exc)})
        case ("state",), "GET":
            return ApiResponse(200, state.snapshot())
        case ("reset",), "POST":
            state.reset(calls_only=query.get("only") == ["calls"])
            return ApiResponse(204)
    return ApiResponse(404, {"error": "control endpoints: calls, knobs (faults), state, reset"})


def _knobs_json(knobs: Knobs) -> dict[str, Any]:
    import msgspec

    return msgspec.structs.asdict(knobs) | {"services": list(knobs.services)}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner = self.server.owner
        outcome = handle(owner.state, self.command, self.path, dict(self.headers.items()), body, owner.url, owner.sleep)
        if outcome == "drop":
            # As a crashed service or a reset by a firewall: the connection closes with no answer.
            self.close_connection = True
            return
        payload = b"" if self.command == "HEAD" else outcome.encoded()
        try:
            self.send_response(outcome.status)
            if payload or outcome.status not in (204, 304):
                self.send_header("Content-Type", outcome.content_type)
            for name, value in outcome.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            # The client gave up first (its timeout was shorter than the injected latency).
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: LocalOpenStack) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class LocalOpenStack:
    """Keystone, Nova, Glance and Neutron enough for openstacksdk, on one port, served from a thread.

    `port=0` takes a free port (tests); `clock` drives server state changes, `sleep` the injected latency.
    """

    def __init__(
        self,
        host: str = HOST,
        port: int = 0,
        *,
        knobs: Knobs | None = None,
        seed: int = 0,
        catalog: Catalog | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = host
        self.port = port
        self.sleep = sleep
        self.state = CloudState(catalog=catalog, knobs=knobs, seed=seed, clock=clock)
        self._serving: Serving[_Server] = Serving()

    def __enter__(self) -> LocalOpenStack:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/identity/v3"

    def start(self) -> None:
        """Bind the port (`OSError` if it is taken) and start serving."""
        self.port = self._serving.start(_Server((self.host, self.port), self), "local-openstack").server_address[1]
        log.debug("local OpenStack serving on %s", self.url)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and release the port; safe to call more than once."""
        self._serving.stop(timeout)

    def set_knobs(self, **values: Any) -> Knobs:
        """Change some knobs (`KnobsError` for values it cannot take)."""
        return self.state.set_knobs(values)

    def calls(self) -> dict[str, Any]:
        with self.state.lock:
            return self.state.calls.as_json()

    def reset(self, *, calls_only: bool = False) -> None:
        self.state.reset(calls_only=calls_only)

    def clouds_yaml(self, cloud: str = DEFAULT_CLOUD_NAME) -> str:
        """A clouds.yaml naming this endpoint as `cloud`, with its application credential."""
        quoted = {
            "cloud": json.dumps(cloud),
            "auth_url": json.dumps(self.auth_url),
            "id": json.dumps(keystone.APPLICATION_CREDENTIAL_ID),
            "secret": json.dumps(keystone.APPLICATION_CREDENTIAL_SECRET),
            "region": json.dumps(self.state.catalog.region),
        }
        return (
            "# Written by the local stack for its local OpenStack; a real cloud's clouds.yaml works the same way.\n"
            "clouds:\n"
            f"  {quoted['cloud']}:\n"
            "    auth:\n"
            f"      auth_url: {quoted['auth_url']}\n"
            f"      application_credential_id: {quoted['id']}\n"
            f"      application_credential_secret: {quoted['secret']}\n"
            f"    region_name: {quoted['region']}\n"
            '    interface: "public"\n'
            "    identity_api_version: 3\n"
            '    auth_type: "v3applicationcredential"\n'
        )

    def write_clouds_yaml(self, path: Path, cloud: str = DEFAULT_CLOUD_NAME) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.clouds_yaml(cloud))
        path.chmod(0o600)
        return path


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def run_local_openstack(*, port: int, knobs: Knobs, seed: int, clouds_yaml: Path, host: str = HOST) -> int:
    """`python -m vre_app openstack`: serve until a stop signal, with a clouds.yaml for the endpoint."""
    from vre_app.local.signals import stop_on_signals

    local = LocalOpenStack(host, port, knobs=knobs, seed=seed)
    try:
        local.start()
    except OSError as exc:
        print(f"local OpenStack: cannot listen on {host}:{port} ({exc.strerror or exc})", file=sys.stderr)
        return 1
    try:
        local.write_clouds_yaml(clouds_yaml)
        print(
            f"Local OpenStack on {local.url} (Keystone {local.auth_url}; knobs at {local.url}/_control/knobs)\n"
            f"  export OS_CLIENT_CONFIG_FILE={clouds_yaml.resolve()}  # cloud {DEFAULT_CLOUD_NAME}\n"
            "Ctrl-C stops it.",
            flush=True,
        )
        with stop_on_signals(threading.Event()) as stop:
            stop.wait()
    finally:
        local.stop()
    return 0
