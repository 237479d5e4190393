"""The ops CLI, `python -m vre_app <command>`: the local stack, local tokens, seed data, the queue pump,
the mail the local stack sent and the local OpenStack on its own; deploying a stage to AWS, its IAM
policies, and redriving dead letters.

Not deployed. Run outside the stack, the commands for the local stage take its variables from
.chalice/config.json and talk to the stack's moto (see `vre_app.local.environment`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from chalicelib import wiring
from chalicelib.config import ConfigurationError, get_settings
from vre_app.iam import DEPLOYED_STAGES, PLACEHOLDER_ACCOUNT
from vre_app.local.environment import LOCAL_STAGE, LocalEnvironmentError, stage_variables, use_local_defaults
from vre_app.local.openstack.state import Knobs

log = logging.getLogger("vre_app")

PROG = "python -m vre_app"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
# Where a stage is deployed when neither --region nor the AWS environment says (the settings' default too).
DEFAULT_REGION = "eu-west-1"
# What cannot reach the tables or queues: nothing listening at the endpoint, or AWS refusing.
_UNREACHABLE = (PynamoDBException, BotoCoreError, ClientError)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog=PROG, description="VRE Broker ops commands.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    local = commands.add_parser("local", help="run the local stack (what `make run` does) until Ctrl-C")
    local.set_defaults(run=_local)

    token = commands.add_parser(
        "token", help="print a session token for a researcher, created if new (local stage only)"
    )
    token.add_argument("--email", required=True, type=_email)
    token.add_argument("--name", required=True, type=_name)
    token.set_defaults(run=_token)

    openapi = commands.add_parser(
        "openapi", help="print the OpenAPI document the API serves at /openapi.json (the console's typed client)"
    )
    openapi.set_defaults(run=_openapi)

    seed = commands.add_parser("seed", help="seed the reference data into the tables the environment points at")
    seed.set_defaults(run=_seed)

    for name, grant in (("grant-admin", True), ("revoke-admin", False)):
        admin = commands.add_parser(
            name,
            help=f"{'grant' if grant else 'revoke'} platform admin by email or researcher id, on any stage "
            "(the researcher must exist; by email, granting needs an email the identity provider verified)",
        )
        who = admin.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", type=_email)
        who.add_argument("--researcher-id", type=_name)
        admin.set_defaults(run=_set_admin, grant=grant)

    pump = commands.add_parser("pump", help="run the queue pump alone, against the local stack (local stage only)")
    pump.set_defaults(run=_pump)

    mail = commands.add_parser(
        "mail", help="list the mail SES (moto) accepted on the local stack, with its links (local stage only)"
    )
    mail.add_argument("--to", type=_email, help="only mail to this address")
    mail.add_argument("--json", action="store_true", help="one JSON array, for scripts and tests")
    mail.set_defaults(run=_mail)

    openstack = commands.add_parser(
        "openstack", help="run the local OpenStack alone until Ctrl-C, with a clouds.yaml for it (not on AWS)"
    )
    openstack.add_argument("--port", type=int, help="default $VRE_OPENSTACK_PORT, else 9500")
    openstack.add_argument("--seed", type=int, help="seeds ids and fault draws (default $VRE_OPENSTACK_SEED, else 0)")
    openstack.add_argument("--clouds-yaml", help="where to write clouds.yaml (default .local-stack/clouds-<port>.yaml)")
    knobs = openstack.add_argument_group(
        "knobs", "each also read from VRE_OPENSTACK_<KNOB>, e.g. VRE_OPENSTACK_BOOT_SECONDS"
    )
    for knob in Knobs.__struct_fields__:
        knobs.add_argument(f"--{knob.replace('_', '-')}", dest=f"knob_{knob}", metavar="VALUE")
    openstack.set_defaults(run=_openstack)
    deploy = commands.add_parser(
        "deploy",
        help="deploy a stage to AWS: infrastructure stack, config, IAM policies, chalice deploy, "
        "batch item failures, seed data (docs/operations.md)",
    )
    deploy.add_argument("--stage", required=True, choices=DEPLOYED_STAGES)
    deploy.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, else eu-west-1)")
    deploy.add_argument(
        "--alarm-email", type=_alarm_email, help="mail the alarms here ('' for nobody; default: keep the stack's)"
    )
    deploy.add_argument("--dry-run", action="store_true", help="print the plan and check it offline; call nothing")
    deploy.set_defaults(run=_deploy)

    console = commands.add_parser(
        "publish-console",
        help="publish web/dist to the stage's console (infra/console.yaml's stack; docs/operations.md)",
    )
    console.add_argument("--stage", required=True, choices=DEPLOYED_STAGES)
    console.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, else eu-west-1)")
    console.set_defaults(run=_publish_console)

    policies = commands.add_parser(
        "policies", help="render the stage's IAM policy files into .chalice/ (deploy does this itself)"
    )
    policies.add_argument("--stage", required=True, choices=DEPLOYED_STAGES)
    policies.add_argument("--account", default=PLACEHOLDER_ACCOUNT, help="AWS account id (default: a placeholder)")
    policies.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, else eu-west-1)")
    policies.set_defaults(run=_policies)

    redrive = commands.add_parser(
        "redrive", help="move the messages of a queue's dead-letter queue back onto the queue (docs/operations.md)"
    )
    redrive.add_argument("--stage", choices=(LOCAL_STAGE, *DEPLOYED_STAGES), help="default: STAGE, else local")
    redrive.add_argument("--queue", required=True, help="mail, provisioning, ... (or a full queue name)")
    redrive.add_argument("--max", type=_positive, help="move at most this many (default: all)")
    redrive.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, else eu-west-1)")
    redrive.set_defaults(run=_redrive)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    _configure_logging(args.command)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except (ConfigurationError, LocalEnvironmentError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_REFUSED


def _local(args: argparse.Namespace) -> int:
    from vre_app.local.stack import run_local_stack

    return run_local_stack(os.environ)


def _token(args: argparse.Namespace) -> int:
    if not _local_stage_only("token"):
        return EXIT_REFUSED
    from chalicelib.auth.tokens import issue_session_token
    from chalicelib.services.accounts.researchers import ensure_researcher

    deps = wiring.dependencies()
    try:
        researcher = ensure_researcher(deps.researchers, email=args.email, name=args.name)
    except _UNREACHABLE as exc:
        return _unreachable(exc)
    print(issue_session_token(deps.token_policy, researcher.id))
    return EXIT_OK


def _openapi(args: argparse.Namespace) -> int:
    from chalicelib.api.service import openapi_document

    # Exactly what `make` writes to web/openapi.json; tests/contract/test_console_client.py says when it is stale.
    print(json.dumps(openapi_document(), indent=2, ensure_ascii=False))
    return EXIT_OK


def _seed(args: argparse.Namespace) -> int:
    from vre_app.seed import seed_reference

    _use_environment()
    deps = wiring.dependencies()
    try:
        counts = seed_reference(deps.references, deps.catalog)
    except _UNREACHABLE as exc:
        return _unreachable(exc)
    settings = deps.settings
    where = settings.aws_endpoint_url or f"AWS {settings.aws_region}"
    seeded = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    print(f"seeded {seeded} into {settings.tables_prefix}* at {where}")
    return EXIT_OK


def _set_admin(args: argparse.Namespace) -> int:
    from chalicelib.errors import ConflictError, NotFoundError, PermissionDeniedError
    from chalicelib.services.accounts.admin import set_platform_admin

    _use_environment()
    deps = wiring.dependencies()
    try:
        researcher = set_platform_admin(
            deps.researchers, email=args.email, researcher_id=args.researcher_id, is_admin=args.grant
        )
    except (NotFoundError, ConflictError, PermissionDeniedError) as exc:
        print(f"{PROG}: {exc.detail}", file=sys.stderr)
        return EXIT_FAILED
    except _UNREACHABLE as exc:
        return _unreachable(exc)
    state = "is now" if researcher.is_admin else "is no longer"
    print(f"{researcher.email} ({researcher.id}) {state} a platform admin on stage {deps.settings.stage}")
    return EXIT_OK


def _pump(args: argparse.Namespace) -> int:
    if not _local_stage_only("pump"):
        return EXIT_REFUSED
    import boto3

    from vre_app.local.pump import PumpError, QueuePump, load_app, sqs_handlers, subscribe
    from vre_app.local.signals import stop_on_signals

    settings = get_settings()
    sqs = boto3.client("sqs", endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region)
    try:
        subscriptions = subscribe(sqs, sqs_handlers(load_app()))
    except PumpError as exc:
        print(f"{PROG} pump: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except _UNREACHABLE as exc:
        return _unreachable(exc)
    pump = QueuePump(sqs, subscriptions)
    with stop_on_signals(threading.Event()) as stop:
        pump.start()
        try:
            stop.wait()
        finally:
            pump.stop()
    return EXIT_OK


def _mail(args: argparse.Namespace) -> int:
    if not _local_stage_only("mail"):
        return EXIT_REFUSED
    from vre_app.local.sent_mail import SentMailError, format_sent_mail, read_sent_mail

    moto_url = get_settings().aws_endpoint_url
    if not moto_url:
        print(
            f"{PROG} mail: AWS_ENDPOINT_URL is empty; the sent mail is read from the local stack's moto",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    try:
        mails = read_sent_mail(moto_url)
    except SentMailError as exc:
        print(f"{PROG} mail: {exc}; is the local stack running (`make run`)?", file=sys.stderr)
        return EXIT_FAILED
    if args.to:
        mails = [mail for mail in mails if args.to.lower() in (a.lower() for a in mail.to + mail.cc + mail.bcc)]
    if args.json:
        print(json.dumps([mail.as_json() for mail in mails], indent=2))
    else:
        print(format_sent_mail(mails, moto_url))
    return EXIT_OK


def _openstack(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vre_app.local.environment import local_ports
    from vre_app.local.openstack import KnobsError, knobs_from
    from vre_app.local.openstack.server import run_local_openstack
    from vre_app.local.openstack.state import KNOB_VARIABLE_PREFIX, knobs_from_environ

    ports = local_ports(os.environ)
    port = args.port if args.port is not None else ports.openstack
    flags = {
        knob: getattr(args, f"knob_{knob}")
        for knob in Knobs.__struct_fields__
        if getattr(args, f"knob_{knob}") is not None
    }
    if "services" in flags:
        flags["services"] = [name.strip() for name in flags["services"].split(",") if name.strip()]
    try:
        knobs = knobs_from(flags, knobs_from_environ(os.environ), strict=False)
        seed = args.seed if args.seed is not None else int(os.environ.get(KNOB_VARIABLE_PREFIX + "SEED") or 0)
    except (KnobsError, ValueError) as exc:
        print(f"{PROG} openstack: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    clouds_yaml = Path(args.clouds_yaml) if args.clouds_yaml else replace(ports, openstack=port).clouds_yaml
    return run_local_openstack(port=port, knobs=knobs, seed=seed, clouds_yaml=clouds_yaml)


def _deploy(args: argparse.Namespace) -> int:
    from vre_app.deploy import DeployError, Deployment, DeployOptions
    from vre_app.iam import PolicyError
    from vre_app.infra import StackError

    deployment = Deployment(DeployOptions(stage=args.stage, region=_region(args), alarm_email=args.alarm_email))
    try:
        if args.dry_run:
            print(deployment.plan())
        else:
            deployment.run()
    except (DeployError, StackError, PolicyError, LocalEnvironmentError) as exc:
        print(f"{PROG} deploy: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (BotoCoreError, ClientError) as exc:
        print(f"{PROG} deploy: AWS refused ({type(exc).__name__}: {exc}); deploying again resumes", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _publish_console(args: argparse.Namespace) -> int:
    import boto3

    from vre_app.console import ConsoleError, publish_stage

    session = boto3.session.Session(region_name=_region(args))
    try:
        for line in publish_stage(session, args.stage):
            print(line)
    except ConsoleError as exc:
        print(f"{PROG} publish-console: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (BotoCoreError, ClientError) as exc:
        print(f"{PROG} publish-console: AWS refused ({type(exc).__name__}: {exc})", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _policies(args: argparse.Namespace) -> int:
    from vre_app.iam import PolicyError, PolicyTarget, write_policies

    try:
        mail_from = stage_variables(args.stage).get("EMAIL_FROM_ADDRESS", "")
        target = PolicyTarget(stage=args.stage, account=args.account, region=_region(args), mail_from=mail_from)
        for path in write_policies(target):
            print(f"wrote {path}")
    except PolicyError as exc:
        print(f"{PROG} policies: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _redrive(args: argparse.Namespace) -> int:
    import boto3

    from vre_app.redrive import RedriveError, queue_name, redrive

    stage = args.stage or os.environ.get("STAGE") or LOCAL_STAGE
    os.environ["STAGE"] = stage
    _use_environment()
    settings = get_settings()
    sqs = boto3.client("sqs", region_name=_region(args), endpoint_url=settings.aws_endpoint_url)
    try:
        result = redrive(sqs, queue_name(stage, args.queue), limit=args.max)
    except RedriveError as exc:
        print(f"{PROG} redrive: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except _UNREACHABLE as exc:
        return _unreachable(exc)
    print(
        f"moved {result.moved} message(s) from {result.dead_letter_queue} back to {result.queue}; "
        f"{result.left} left in {result.dead_letter_queue}"
    )
    return EXIT_OK


def _region(args: argparse.Namespace) -> str:
    region: str | None = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return region or DEFAULT_REGION


def _use_environment() -> None:
    """Fill in the local stage's defaults (if the stage is local) and read the settings afresh."""
    use_local_defaults(os.environ)
    wiring.reset()


def _local_stage_only(command: str) -> bool:
    _use_environment()
    stage = get_settings().stage
    if stage == LOCAL_STAGE:
        return True
    print(
        f"{PROG} {command}: refused, STAGE is {stage!r}; this command only works on the "
        f"{LOCAL_STAGE!r} stage (unset STAGE, or set STAGE={LOCAL_STAGE}, to use the local stack)",
        file=sys.stderr,
    )
    return False


def _unreachable(exc: Exception) -> int:
    endpoint = get_settings().aws_endpoint_url
    hint = f"; is the local stack running (`make run`) at {endpoint}?" if endpoint else ""
    print(f"{PROG}: cannot reach the tables or queues ({type(exc).__name__}: {exc}){hint}", file=sys.stderr)
    return EXIT_FAILED


def _email(value: str) -> str:
    local, at, domain = unicodedata.normalize("NFKC", value).strip().partition("@")
    if not (local and at and "." in domain):
        raise argparse.ArgumentTypeError(f"{value!r} is not an email address")
    return value.strip()


def _alarm_email(value: str) -> str:
    return _email(value) if value.strip() else ""


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return int(value)


def _name(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("the name cannot be empty")
    return value.strip()


def _configure_logging(command: str) -> None:
    # `token` prints only the token on stdout; everything else goes to stderr, and it stays quiet.
    level = logging.INFO if command in ("local", "pump", "openstack") else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("botocore", "boto3", "urllib3", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
