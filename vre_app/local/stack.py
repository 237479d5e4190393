"""The local stack behind `make run`: the whole broker on a laptop, started and stopped as one.

It starts moto in server mode, creates the tables and queues from infra/template.yaml through
moto's CloudFormation (the same definitions that deploy to AWS), seeds the reference data,
starts a local OpenStack and writes the clouds.yaml that points openstacksdk at it, starts an
OpenID Connect provider in SurfConext's place and registers the broker with it, runs
`chalice local`, the queue pump, the web console (web/dist at FRONTEND_URL) and (when the stage
has VRW) a local VRW that reports workspaces configured, and stops all of it on Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from email.utils import parseaddr
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

import boto3
import requests

from chalicelib import wiring
from chalicelib.config import get_settings
from vre_app.infra import apply_template, origin_of
from vre_app.local.environment import (
    API_PORT_VARIABLE,
    DEFAULT_MOTO_PORT,
    HOST,
    LOCAL_STAGE,
    MOTO_PORT_VARIABLE,
    OIDC_PORT_VARIABLE,
    OPENSTACK_PORT_VARIABLE,
    PROJECT_ROOT,
    LocalEnvironmentError,
    LocalPorts,
    external_identity_provider,
    frontend_port,
    infrastructure_environment,
    local_ports,
    real_clouds_yaml,
    stack_environment,
)
from vre_app.local.frontend import LocalFrontend
from vre_app.local.identity_provider import IdentityProviderError, LocalClient, LocalIdentityProvider
from vre_app.local.moto_server import MotoServer
from vre_app.local.openstack import KnobsError, LocalOpenStack
from vre_app.local.openstack.state import KNOB_VARIABLE_PREFIX, knobs_from_environ
from vre_app.local.pump import PumpError, QueuePump, load_app, sqs_handlers, subscribe
from vre_app.local.schedule import DEFAULT_SCHEDULE_SECONDS, SCHEDULE_SECONDS_VARIABLE, Scheduler, scheduled_handlers
from vre_app.local.signals import stop_on_signals
from vre_app.local.vrw import KNOB_VARIABLE_PREFIX as VRW_KNOB_PREFIX
from vre_app.local.vrw import LocalVrw, VrwKnobsError
from vre_app.local.vrw import knobs_from_environ as vrw_knobs_from_environ
from vre_app.seed import seed_reference

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
READY_LINE = "VRE Broker local stack ready"
OPENSTACK_SEED_VARIABLE = KNOB_VARIABLE_PREFIX + "SEED"
# chalice's command line, with an access log that filters credentials out of query strings.
# It keeps the caller's settings over the stage's (`keep_caller_settings`).
_CHALICE_MAIN = (
    "import sys; from vre_app.local.environment import keep_caller_settings; keep_caller_settings(); "
    "from vre_app.local.chalice_local import main; sys.exit(main())"
)


class StackError(RuntimeError):
    """The local stack could not start, or a part of it stopped on its own."""


class ChaliceLocal:
    """`chalice local` for the local stage, as a child process in a session of its own.

    Its own session keeps a terminal's Ctrl-C away from it: the stack stops it, in order.
    """

    def __init__(self, project_dir: Path, port: int, environ: Mapping[str, str]) -> None:
        self.project_dir = project_dir
        self.port = port
        self.environ = dict(environ)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the child process (it binds its port a moment later)."""
        command = [
            sys.executable,
            "-c",
            _CHALICE_MAIN,
            "--project-dir",
            str(self.project_dir),
            "local",
            "--stage",
            LOCAL_STAGE,
            "--no-autoreload",
            "--host",
            HOST,
            "--port",
            str(self.port),
        ]
        self._process = subprocess.Popen(command, cwd=self.project_dir, env=self.environ, start_new_session=True)

    def exit_code(self) -> int | None:
        """None while it runs; its exit code once it has stopped."""
        return None if self._process is None else self._process.poll()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM its process group, SIGKILL after `timeout`; safe to call more than once."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("chalice local did not stop within %.0f s; killing it", timeout)
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout)


class LocalStack:
    """moto, the infrastructure, seed data, OpenStack, the identity provider, `chalice local` and the queue pump,
    as one.

    The stack's own process seeds the tables and runs the pump, so `start()` gives that process
    the stack's environment too (`environ`, as `stack_environment` builds it).
    """

    def __init__(
        self,
        ports: LocalPorts,
        environ: Mapping[str, str],
        *,
        project_dir: Path = PROJECT_ROOT,
        health_timeout: float = HEALTH_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ports = ports
        self.environ = dict(environ)
        self.project_dir = project_dir
        self.health_timeout = health_timeout
        self.clock = clock
        self.queues: list[str] = []
        self._moto: MotoServer | None = None
        self._identity: LocalIdentityProvider | None = None
        self._openstack: LocalOpenStack | None = None
        self._api: ChaliceLocal | None = None
        self._pump: QueuePump | None = None
        self._scheduler: Scheduler | None = None
        self._vrw: LocalVrw | None = None
        self._frontend: LocalFrontend | None = None

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pump(self) -> QueuePump | None:
        return self._pump

    @property
    def identity_provider(self) -> LocalIdentityProvider | None:
        return self._identity

    @property
    def vrw(self) -> LocalVrw | None:
        """The local VRW; None before the API answers and on a stage with `VRW_ENABLED=false`."""
        return self._vrw

    @property
    def frontend(self) -> LocalFrontend | None:
        """The web console's server; None before start and when FRONTEND_URL is not on this machine."""
        return self._frontend

    @property
    def openstack(self) -> LocalOpenStack | None:
        """The local OpenStack; None before start and when `VRE_OPENSTACK_CLOUDS_YAML` names a real cloud."""
        return self._openstack

    def start(self, stop: threading.Event) -> bool:
        """Start every part in order; False if `stop` was set before the API answered.

        Raises `StackError` when a port is taken or a part fails to start; whatever had
        started is still running then, and `stop()` ends it.
        """
        _check_ports(
            self.ports,
            openstack=real_clouds_yaml(self.environ) is None,
            identity_provider=not external_identity_provider(self.environ),
            frontend=frontend_port(self.environ),
        )
        self._adopt_environment()

        self._moto = MotoServer(HOST, self.ports.moto)
        try:
            self._moto.start()
        except OSError as exc:
            raise StackError(_port_taken(self.ports.moto, "moto", MOTO_PORT_VARIABLE, exc)) from exc
        log.info("moto listening on %s", self.ports.moto_url)

        # The bucket's CORS rule admits the upload page's origin, wherever this stack serves it.
        page_origin = origin_of(self.environ.get("UPLOAD_BASE_URL", ""))
        outputs = apply_template(self._cloudformation(), LOCAL_STAGE, upload_page_origin=page_origin or None)
        self.queues = sorted(url.rsplit("/", 1)[-1] for key, url in outputs.items() if key.endswith("QueueUrl"))
        self._configure_mail(outputs)
        counts = seed_reference(wiring.dependencies().references, wiring.dependencies().catalog)
        log.info("tables and queues created; seeded %s", ", ".join(f"{n} {kind}" for kind, n in counts.items()))
        if stop.is_set():
            return False

        self._start_openstack()
        self._start_identity_provider()
        self._start_frontend()
        self._api = ChaliceLocal(self.project_dir, self.ports.api, self.environ)
        self._api.start()

        sqs = self._sqs()
        try:
            subscriptions = subscribe(sqs, sqs_handlers(load_app(self.project_dir)))
        except PumpError as exc:
            raise StackError(str(exc)) from exc
        self._pump = QueuePump(sqs, subscriptions)
        self._pump.start()
        interval = float(self.environ.get(SCHEDULE_SECONDS_VARIABLE) or DEFAULT_SCHEDULE_SECONDS)
        self._scheduler = Scheduler(scheduled_handlers(load_app(self.project_dir)), interval)
        self._scheduler.start()

        if not self._wait_until_healthy(stop):
            return False
        self._start_vrw()
        return True

    def problem(self) -> str | None:
        """Why the running stack is broken, if it is (for now: the API process exited)."""
        code = None if self._api is None else self._api.exit_code()
        return None if code is None else f"chalice local exited with code {code}"

    def stop(self) -> None:
        """Stop everything that was started, the API first and moto last; safe to call more than once."""
        pump, api, identity, openstack, moto = self._pump, self._api, self._identity, self._openstack, self._moto
        self._pump = self._api = self._identity = self._openstack = self._moto = None
        scheduler, self._scheduler = self._scheduler, None
        vrw, self._vrw = self._vrw, None
        frontend, self._frontend = self._frontend, None
        if frontend is not None:
            frontend.stop()
        if vrw is not None:
            vrw.stop()
        if scheduler is not None:
            scheduler.stop()
        if pump is not None:
            pump.stop()
        if api is not None:
            api.stop()
        if identity is not None:
            identity.stop()
        if openstack is not None:
            openstack.stop()
            # Its clouds.yaml names a port nothing listens on any more.
            Path(self.environ["OS_CLIENT_CONFIG_FILE"]).unlink(missing_ok=True)
        if moto is not None:
            moto.stop()

    def _start_openstack(self) -> None:
        """Start the local OpenStack and write the clouds.yaml that the stack's environment names
        (`OS_CLIENT_CONFIG_FILE`); nothing when that clouds.yaml is a real cloud's."""
        if real_clouds_yaml(self.environ) is not None:
            log.info("OpenStack: the real cloud in %s", self.environ["OS_CLIENT_CONFIG_FILE"])
            return
        try:
            knobs = knobs_from_environ(self.environ)
            seed = int(self.environ.get(OPENSTACK_SEED_VARIABLE) or 0)
        except (KnobsError, ValueError) as exc:
            raise StackError(f"the local OpenStack's {KNOB_VARIABLE_PREFIX}* settings: {exc}") from exc
        self._openstack = LocalOpenStack(HOST, self.ports.openstack, knobs=knobs, seed=seed)
        try:
            self._openstack.start()
        except OSError as exc:
            raise StackError(_port_taken(self.ports.openstack, "OpenStack", OPENSTACK_PORT_VARIABLE, exc)) from exc
        self._openstack.write_clouds_yaml(Path(self.environ["OS_CLIENT_CONFIG_FILE"]))
        log.info(
            "local OpenStack listening on %s (servers boot in %.1f s)", self.ports.openstack_url, knobs.boot_seconds
        )

    def _start_vrw(self) -> None:
        """Start the local VRW if the stage has VRW; it posts to the API, so it starts once the API answers."""
        settings = get_settings()
        if not settings.vrw_enabled:
            log.info("VRW is off on this stage (VRW_ENABLED=false): booted workspaces go straight to RUNNING")
            return
        if not settings.vrw_webhook_secret:
            raise StackError("VRW_ENABLED is true, but the local stage sets no VRW_WEBHOOK_SECRET to sign with")
        try:
            knobs = vrw_knobs_from_environ(self.environ)
        except VrwKnobsError as exc:
            raise StackError(f"the local VRW's {VRW_KNOB_PREFIX}* settings: {exc}") from exc
        self._vrw = LocalVrw(
            self.ports.api_url, settings.vrw_webhook_secret, wiring.dependencies().workspaces, knobs=knobs
        )
        self._vrw.start()
        log.info("local VRW reporting to %s (configuring takes %.1f s)", self._vrw.hook_url, knobs.configure_seconds)

    def _start_frontend(self) -> None:
        """Serve web/dist at FRONTEND_URL, with a /config.json naming this stack's API and upload page."""
        port = frontend_port(self.environ)
        if port is None:
            log.info(
                "web console: FRONTEND_URL %s is not on this machine; the stack serves none",
                self.environ.get("FRONTEND_URL"),
            )
            return
        self._frontend = LocalFrontend(
            HOST, port, api_base_url=self.ports.api_url, upload_base_url=self.environ.get("UPLOAD_BASE_URL") or None
        )
        try:
            self._frontend.start()
        except OSError as exc:
            raise StackError(_port_taken(port, "the web console", "FRONTEND_URL", exc)) from exc
        if not self._frontend.built:
            log.warning("web/dist is not built: the console at %s says how to build it", self._frontend.url)
        log.info("web console listening on %s", self._frontend.url)

    def _start_identity_provider(self) -> None:
        """Start the local provider with the stage's client registered; nothing when the caller named one."""
        if external_identity_provider(self.environ):
            log.info(
                "identity provider: %s (OIDC_ISSUER), client %s",
                self.environ["OIDC_ISSUER"],
                self.environ.get("OIDC_CLIENT_ID"),
            )
            return
        try:
            client = LocalClient.from_environment(self.environ)
            self._identity = LocalIdentityProvider(HOST, self.ports.oidc, client=client)
            self._identity.start()
        except OSError as exc:
            raise StackError(_port_taken(self.ports.oidc, "the identity provider", OIDC_PORT_VARIABLE, exc)) from exc
        except IdentityProviderError as exc:
            raise StackError(str(exc)) from exc
        log.info("identity provider listening on %s", self.ports.oidc_url)

    def _configure_mail(self, outputs: Mapping[str, str]) -> None:
        """Point every process of the stack at the template's mail queue, and let SES (moto) send from the
        configured From address (SES refuses unverified senders)."""
        try:
            variables = infrastructure_environment(outputs)
        except LocalEnvironmentError as exc:
            raise StackError(str(exc)) from exc
        self.environ.update(variables)
        os.environ.update(variables)
        wiring.reset()
        _, sender = parseaddr(get_settings().email_from_address)
        self._ses().verify_email_identity(EmailAddress=sender)
        log.info("mail goes through %s to SES (moto), from %s", variables["MAIL_QUEUE_URL"], sender)

    def _adopt_environment(self) -> None:
        os.environ.clear()
        os.environ.update(self.environ)
        wiring.reset()

    def _cloudformation(self) -> CloudFormationClient:
        return boto3.client("cloudformation", endpoint_url=self.ports.moto_url, region_name=self._region)

    def _ses(self) -> SESClient:
        return boto3.client("ses", endpoint_url=self.ports.moto_url, region_name=self._region)

    def _sqs(self) -> SQSClient:
        return boto3.client("sqs", endpoint_url=self.ports.moto_url, region_name=self._region)

    @property
    def _region(self) -> str | None:
        return self.environ.get("AWS_REGION") or self.environ.get("AWS_DEFAULT_REGION")

    def _wait_until_healthy(self, stop: threading.Event) -> bool:
        url = f"{self.ports.api_url}/health"
        deadline = self.clock() + self.health_timeout
        while not stop.is_set():
            problem = self.problem()
            if problem is not None:
                raise StackError(f"{problem} before it answered (is port {self.ports.api} free?)")
            with suppress(requests.RequestException):
                if requests.get(url, timeout=1.0).status_code == 200:
                    return True
            if self.clock() > deadline:
                raise StackError(f"{url} did not answer within {self.health_timeout:.0f} s")
            stop.wait(0.1)
        return False


def run_local_stack(environ: Mapping[str, str], *, out: TextIO = sys.stdout) -> int:
    """`python -m vre_app local`: start the stack, print where it is, and run until a stop signal."""
    ports = local_ports(environ)
    stop = threading.Event()
    began = time.monotonic()
    with stop_on_signals(stop):
        try:
            with LocalStack(ports, stack_environment(environ, ports)) as stack:
                if not stack.start(stop):
                    log.info("stopped while starting")
                    return 0
                print(banner(stack, time.monotonic() - began), file=out, flush=True)
                while not stop.wait(0.5):
                    problem = stack.problem()
                    if problem is not None:
                        log.error("%s; stopping the local stack", problem)
                        return 1
                log.info("stopping the local stack")
        except StackError as exc:
            log.error("the local stack could not start: %s", exc)
            return 1
    print("Local stack stopped.", file=out, flush=True)
    return 0


def banner(stack: LocalStack, seconds: float) -> str:
    """What `make run` prints once the API answers: where everything is, and a first request."""
    ports = stack.ports
    moto_port = "" if ports.moto == DEFAULT_MOTO_PORT else f"{MOTO_PORT_VARIABLE}={ports.moto} "
    token = f"$({moto_port}.venv/bin/python -m vre_app token --email you@example.org --name You)"
    handlers = len(stack.pump.subscriptions) if stack.pump is not None else 0
    return "\n".join(
        [
            f"{READY_LINE} in {seconds:.1f} s",
            _console_line(stack),
            f"  API       {ports.api_url}",
            f"  API docs  {ports.api_url}/docs  (ReDoc {ports.api_url}/redoc, OpenAPI {ports.api_url}/openapi.json)",
            f"  moto      {ports.moto_url}  (dashboard {ports.moto_url}/moto-api/)",
            _oidc_line(stack),
            _openstack_line(stack),
            _vrw_line(stack),
            f"  log in    {_login_url(stack)}",
            f"  queues    {', '.join(stack.queues) or 'none'}; SQS handlers pumped: {handlers}",
            f"  mail      {moto_port}.venv/bin/python -m vre_app mail  (what SES accepted, with its links)",
            "Try:",
            f'  curl -H "Authorization: Bearer {token}" {ports.api_url}/me',
            "Ctrl-C stops everything.",
        ]
    )


def _console_line(stack: LocalStack) -> str:
    frontend = stack.frontend
    if frontend is None:
        return f"  console   {stack.environ.get('FRONTEND_URL', '')}  (FRONTEND_URL, served elsewhere)"
    built = "" if frontend.built else "  (NOT BUILT: `make run` builds web/dist)"
    return f"  console   {frontend.url}  (web/dist; upload page {frontend.url}/upload/<code>){built}"


def _login_url(stack: LocalStack) -> str:
    if stack.frontend is None:
        return f"{stack.ports.api_url}/auth/login?next=/"
    return f"{stack.frontend.url}/login"


def _oidc_line(stack: LocalStack) -> str:
    if stack.identity_provider is None:
        issuer, client = stack.environ.get("OIDC_ISSUER", ""), stack.environ.get("OIDC_CLIENT_ID", "")
        return f"  OIDC      {issuer}  (your OIDC_ISSUER, client {client}; the stack runs no provider of its own)"
    return (
        f"  OIDC      {stack.identity_provider.url}  (local oidc-provider in SurfConext's place: pick a seeded "
        "researcher from vre_app/local/oidc/users.json)"
    )


def _openstack_line(stack: LocalStack) -> str:
    clouds_yaml = Path(stack.environ.get("OS_CLIENT_CONFIG_FILE", ""))
    if stack.openstack is None:
        return f"  OpenStack the REAL cloud in {clouds_yaml}: workspaces boot real servers"
    shown = clouds_yaml.relative_to(stack.project_dir) if clouds_yaml.is_relative_to(stack.project_dir) else clouds_yaml
    return (
        f"  OpenStack {stack.ports.openstack_url}  (Keystone, Nova, Glance, Neutron; clouds.yaml {shown}; "
        "knobs at /_control/knobs, calls at /_control/calls)"
    )


def _vrw_line(stack: LocalStack) -> str:
    if stack.vrw is None:
        return "  VRW       off (VRW_ENABLED=false): booted workspaces go straight to RUNNING"
    return (
        f"  VRW       local stand-in posting signed events to {stack.vrw.hook_url} "
        f"(configuring takes {stack.vrw.knobs.configure_seconds:g} s; {VRW_KNOB_PREFIX}FAILURE=<reason> fails them)"
    )


def _check_ports(
    ports: LocalPorts, *, openstack: bool = True, identity_provider: bool = True, frontend: int | None = None
) -> None:
    named = (
        ((ports.moto, "moto", MOTO_PORT_VARIABLE), (ports.api, "the API", API_PORT_VARIABLE))
        + (((ports.oidc, "the identity provider", OIDC_PORT_VARIABLE),) if identity_provider else ())
        + (((ports.openstack, "OpenStack", OPENSTACK_PORT_VARIABLE),) if openstack else ())
        + (((frontend, "the web console", "FRONTEND_URL"),) if frontend is not None else ())
    )
    for (port, _, variable), (other_port, _, other_variable) in itertools.combinations(named, 2):
        if port == other_port:
            raise StackError(f"{variable} and {other_variable} are both {port}")
    for port, what, variable in named:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the servers themselves bind: a socket in TIME_WAIT does not count as taken.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
            except OSError as exc:
                raise StackError(_port_taken(port, what, variable, exc)) from exc


def _port_taken(port: int, what: str, variable: str, exc: OSError) -> str:
    return (
        f"port {port} on {HOST}, for {what}, is not available ({exc.strerror or exc}); "
        f"stop whatever uses it, or choose another with {variable}=<port>"
    )


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, signum)
