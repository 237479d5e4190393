"""The local stage's environment, for the processes that `chalice local` does not configure.

`chalice local` applies the `local` stage's variables from .chalice/config.json itself. The
ops CLI, the queue pump and the stack's own process read them here instead, so every process
of the local stack sees the same settings and talks to the same moto server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHALICE_CONFIG = PROJECT_ROOT / ".chalice" / "config.json"
LOCAL_STAGE = "local"
HOST = "127.0.0.1"
MOTO_PORT_VARIABLE = "VRE_MOTO_PORT"
API_PORT_VARIABLE = "VRE_API_PORT"
OIDC_PORT_VARIABLE = "VRE_OIDC_PORT"
OPENSTACK_PORT_VARIABLE = "VRE_OPENSTACK_PORT"
# A real cloud's clouds.yaml for the local stack instead of its local OpenStack (an explicit choice: a
# shell's own OS_CLIENT_CONFIG_FILE or OS_CLOUD never reaches the stack, so it never boots real servers by surprise).
CLOUDS_YAML_VARIABLE = "VRE_OPENSTACK_CLOUDS_YAML"
DEFAULT_MOTO_PORT = 5000
DEFAULT_API_PORT = 8000
DEFAULT_OIDC_PORT = 9400
DEFAULT_OPENSTACK_PORT = 9500
# What the local stack writes for itself (the local OpenStack's clouds.yaml); git ignores it.
LOCAL_STATE_DIR = PROJECT_ROOT / ".local-stack"
# Where the local identity provider sends the browser back to; the broker's `/auth/callback` route.
CALLBACK_PATH = "/auth/callback"
# Settings the caller's environment gives that win over the stage's and the stack's own (README: "settings,
# not code changes"): the identity provider and this client at it, where the browser lands, the cloud's name.
CALLER_SETTINGS = (
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_REDIRECT_URI",
    "OIDC_SCOPES",
    "FRONTEND_URL",
    "UPLOAD_BASE_URL",
    "OPENSTACK_CLOUD",
)
# The hosts a FRONTEND_URL may name for the stack to serve the console there itself.
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
# Where the local stage's upload page is, below FRONTEND_URL (the console's build serves it).
UPLOAD_PAGE_PATH = "/upload/"
# Names the caller set from CALLER_SETTINGS, comma-separated: `chalice local` applies the stage's variables
# over its environment, and puts these back (`keep_caller_settings`).
CALLER_SETTINGS_VARIABLE = "VRE_CALLER_SETTINGS"
# The settings that name infrastructure, by the template output that holds each one's value.
OUTPUT_VARIABLES = {
    "MAIL_QUEUE_URL": "MailQueueUrl",
    "PROVISIONING_QUEUE_URL": "ProvisioningQueueUrl",
    "UPLOAD_BUCKET": "UploadBucketName",
}
# Credentials that could reach a real account; the stack drops them so nothing it runs can.
_REAL_CREDENTIALS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
# openstacksdk's variables (OS_CLOUD, OS_AUTH_URL, OS_CLIENT_CONFIG_FILE, ...): a shell's own cloud stays out.
_OPENSTACK_PREFIX = "OS_"


class LocalEnvironmentError(RuntimeError):
    """The environment or .chalice/config.json cannot describe the local stack."""


@dataclass(frozen=True, slots=True)
class LocalPorts:
    """Where the local stack listens, all on 127.0.0.1."""

    api: int = DEFAULT_API_PORT
    moto: int = DEFAULT_MOTO_PORT
    oidc: int = DEFAULT_OIDC_PORT
    openstack: int = DEFAULT_OPENSTACK_PORT

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api}"

    @property
    def moto_url(self) -> str:
        return f"http://{HOST}:{self.moto}"

    @property
    def oidc_url(self) -> str:
        """The local identity provider, which is also its issuer."""
        return f"http://{HOST}:{self.oidc}"

    @property
    def openstack_url(self) -> str:
        return f"http://{HOST}:{self.openstack}"

    @property
    def clouds_yaml(self) -> Path:
        """Where the stack writes the clouds.yaml of its local OpenStack (one per port: stacks may run side by side)."""
        return LOCAL_STATE_DIR / f"clouds-{self.openstack}.yaml"


def local_ports(environ: Mapping[str, str]) -> LocalPorts:
    """The ports named by `VRE_API_PORT`, `VRE_MOTO_PORT`, `VRE_OIDC_PORT` and `VRE_OPENSTACK_PORT`, or the defaults."""
    return LocalPorts(
        api=_port(environ, API_PORT_VARIABLE, DEFAULT_API_PORT),
        moto=_port(environ, MOTO_PORT_VARIABLE, DEFAULT_MOTO_PORT),
        oidc=_port(environ, OIDC_PORT_VARIABLE, DEFAULT_OIDC_PORT),
        openstack=_port(environ, OPENSTACK_PORT_VARIABLE, DEFAULT_OPENSTACK_PORT),
    )


def stage_variables(stage: str = LOCAL_STAGE, *, config: Path = CHALICE_CONFIG) -> dict[str, str]:
    """A stage's environment variables as Chalice sets them: the top-level ones, then the stage's."""
    try:
        document = json.loads(config.read_text())
        variables = {**document.get("environment_variables", {})}
        variables.update(document["stages"][stage].get("environment_variables", {}))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LocalEnvironmentError(f"cannot read stage {stage!r} from {config}: {exc}") from exc
    return {str(name): str(value) for name, value in variables.items()}


def is_local_stage(environ: Mapping[str, str]) -> bool:
    """True when `environ` names no stage or the local one (settings default to `local`)."""
    return (environ.get("STAGE") or LOCAL_STAGE) == LOCAL_STAGE


def use_local_defaults(environ: MutableMapping[str, str], *, config: Path = CHALICE_CONFIG) -> bool:
    """Fill in the local stage's variables, and moto as the AWS endpoint, where `environ` has none.

    Does nothing (and returns False) when `environ` names another stage. A variable already
    present is kept even when empty: `AWS_ENDPOINT_URL=` means "no endpoint override".
    """
    if not is_local_stage(environ):
        return False
    defaults = stage_variables(LOCAL_STAGE, config=config)
    defaults["AWS_ENDPOINT_URL"] = local_ports(environ).moto_url
    for name, value in defaults.items():
        environ.setdefault(name, value)
    return True


def stack_environment(
    environ: Mapping[str, str], ports: LocalPorts, *, config: Path = CHALICE_CONFIG
) -> dict[str, str]:
    """The environment of every process in the local stack: the local stage, pointed at its moto,
    its identity provider and its OpenStack (or the clouds.yaml `VRE_OPENSTACK_CLOUDS_YAML` names).

    The stage's variables override the caller's, as `chalice local` does, so the API and the
    processes beside it agree on settings; except `CALLER_SETTINGS`, where a non-empty value from the
    caller wins (an `OIDC_ISSUER` of the caller's means the stack starts no provider of its own).
    """
    variables = {
        name: value
        for name, value in environ.items()
        if name not in _REAL_CREDENTIALS and not name.startswith(_OPENSTACK_PREFIX)
    }
    variables.update(stage_variables(LOCAL_STAGE, config=config))
    variables.update(
        {
            "STAGE": LOCAL_STAGE,
            "AWS_ENDPOINT_URL": ports.moto_url,
            "OIDC_ISSUER": ports.oidc_url,
            "OIDC_REDIRECT_URI": ports.api_url + CALLBACK_PATH,
            API_PORT_VARIABLE: str(ports.api),
            MOTO_PORT_VARIABLE: str(ports.moto),
            OIDC_PORT_VARIABLE: str(ports.oidc),
            OPENSTACK_PORT_VARIABLE: str(ports.openstack),
            "OS_CLIENT_CONFIG_FILE": str(real_clouds_yaml(environ) or ports.clouds_yaml),
        }
    )
    chosen = {name: environ[name] for name in CALLER_SETTINGS if environ.get(name, "").strip()}
    stage_frontend = variables.get("FRONTEND_URL", "").rstrip("/")
    if (
        "FRONTEND_URL" in chosen
        and "UPLOAD_BASE_URL" not in chosen
        and variables.get("UPLOAD_BASE_URL") == stage_frontend + UPLOAD_PAGE_PATH
    ):
        # The upload page moves with the console that serves it.
        chosen["UPLOAD_BASE_URL"] = chosen["FRONTEND_URL"].rstrip("/") + UPLOAD_PAGE_PATH
    variables.update(chosen)
    variables[CALLER_SETTINGS_VARIABLE] = ",".join(chosen)
    return variables


def frontend_port(environ: Mapping[str, str]) -> int | None:
    """The port the stack serves the console on: FRONTEND_URL's, when it is an http URL on this machine.

    None when FRONTEND_URL names another host (a console served elsewhere): the stack then serves none.
    """
    url = urlsplit(environ.get("FRONTEND_URL", ""))
    if url.scheme != "http" or url.hostname not in _LOOPBACK_HOSTS:
        return None
    try:
        return url.port or 80
    except ValueError as exc:
        raise LocalEnvironmentError(f"FRONTEND_URL={environ['FRONTEND_URL']!r} has no valid port") from exc


def external_identity_provider(environ: Mapping[str, str]) -> bool:
    """True when the caller named an identity provider (`OIDC_ISSUER`): the stack then starts none of its own."""
    return "OIDC_ISSUER" in environ.get(CALLER_SETTINGS_VARIABLE, "").split(",")


def keep_caller_settings(environ: MutableMapping[str, str] | None = None) -> None:
    """Make `chalice local` put the caller's `CALLER_SETTINGS` back after it applies the stage's variables.

    Chalice updates the process environment with .chalice/config.json's stage when it loads the app,
    which would undo the caller's choice of provider or frontend; this wraps that load.
    """
    from chalice.app import Chalice
    from chalice.cli.factory import CLIFactory

    target = os.environ if environ is None else environ
    names = [name for name in target.get(CALLER_SETTINGS_VARIABLE, "").split(",") if name in CALLER_SETTINGS]
    chosen = {name: target[name] for name in names if name in target}
    load = CLIFactory.load_chalice_app

    def load_keeping_caller_settings(
        factory: CLIFactory,
        environment_variables: MutableMapping[Any, Any] | None = None,
        validate_feature_flags: bool | None = True,
    ) -> Chalice:
        # Before the app is imported: settings read at import must see the caller's values already.
        return load(factory, {**(environment_variables or {}), **chosen}, validate_feature_flags)

    CLIFactory.load_chalice_app = load_keeping_caller_settings  # type: ignore[method-assign,assignment]


def real_clouds_yaml(environ: Mapping[str, str]) -> Path | None:
    """The real cloud's clouds.yaml that `VRE_OPENSTACK_CLOUDS_YAML` names, if it names one."""
    value = environ.get(CLOUDS_YAML_VARIABLE, "").strip()
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_file():
        raise LocalEnvironmentError(f"{CLOUDS_YAML_VARIABLE}={value!r} is not a file")
    return path


def infrastructure_environment(outputs: Mapping[str, str]) -> dict[str, str]:
    """The variables that point the broker at the infrastructure the template made (the queues' URLs)."""
    missing = sorted(output for output in OUTPUT_VARIABLES.values() if not outputs.get(output))
    if missing:
        raise LocalEnvironmentError(f"infra/template.yaml gave no {', '.join(missing)} output")
    return {variable: outputs[output] for variable, output in OUTPUT_VARIABLES.items()}


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise LocalEnvironmentError(f"{name}={raw!r} is not a TCP port number (1-65535)")
    return int(raw)
