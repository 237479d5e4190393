"""What an operator reads: JSON log lines with the request id, and metrics as valid EMF lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from chalicelib import metrics
from chalicelib.config import load_settings
from chalicelib.logs import bound_request_id, configure_logging, log_format_of, sane_request_id
from chalicelib.services.mail.ports import OutgoingMail


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The root logger writing JSON into a buffer, as on a deployed stage; the previous handlers after."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(load_settings({"STAGE": "dev", "LOG_FORMAT": "json"}), stream=stream)
    metrics.configure_metrics("dev")
    yield stream
    metrics.configure_metrics("local")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in before:
        root.addHandler(handler)
    root.setLevel(level)


def decoded(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_log_line_is_one_json_object_with_the_request_id(lines: io.StringIO) -> None:
    with bound_request_id("req-abcdef12"):
        logging.getLogger("chalicelib.test").warning("workspace %s stuck", "w1", extra={"workspace_id": "w1"})

    (line,) = decoded(lines)
    assert {k: line[k] for k in ("level", "logger", "message", "request_id", "workspace_id")} == {
        "level": "WARNING",
        "logger": "chalicelib.test",
        "message": "workspace w1 stuck",
        "request_id": "req-abcdef12",
        "workspace_id": "w1",
    }
    assert str(line["timestamp"]).endswith("+00:00")


def test_an_exception_stays_on_its_one_line(lines: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("chalicelib.test").exception("it failed")

    (line,) = decoded(lines)
    assert "RuntimeError: boom" in str(line["exception"])


def test_a_metric_is_a_valid_emf_line(lines: io.StringIO) -> None:
    with bound_request_id("req-abcdef12"):
        metrics.count("MailSent", Kind="invitation")

    (line,) = decoded(lines)
    aws = line["_aws"]
    assert isinstance(aws, dict)
    assert isinstance(aws["Timestamp"], int)
    (directive,) = aws["CloudWatchMetrics"]
    assert directive["Namespace"] == "VREBroker"
    # Every metric and every dimension the directive names is a key of the line.
    assert [m["Name"] for m in directive["Metrics"]] == ["MailSent"]
    assert all(isinstance(line[m["Name"]], int | float) for m in directive["Metrics"])
    assert directive["Dimensions"] == [["Stage", "Kind"]]
    assert (line["Stage"], line["Kind"], line["MailSent"]) == ("dev", "invitation", 1)
    assert line["request_id"] == "req-abcdef12"


class Refusing:
    def send(self, mail: OutgoingMail) -> None:
        raise RuntimeError("SES said no")


class Accepting:
    def send(self, mail: OutgoingMail) -> None:
        return None


def test_mail_sends_are_counted_by_kind(lines: io.StringIO) -> None:
    mail = OutgoingMail(to="a@example.org", subject="s", text="t", html="<p>t</p>")
    metrics.MeteredMailer(Accepting(), kind="workspace").send(mail)
    with pytest.raises(RuntimeError):
        metrics.MeteredMailer(Refusing(), kind="invitation").send(mail)

    assert [(line.get("MailSent"), line.get("MailFailed"), line["Kind"]) for line in decoded(lines)] == [
        (1, None, "workspace"),
        (None, 1, "invitation"),
    ]


def test_deployed_stages_log_json_and_the_local_one_text() -> None:
    assert log_format_of(load_settings({"STAGE": "prod"})) == "json"
    assert log_format_of(load_settings({"STAGE": "local"})) == "text"
    assert log_format_of(load_settings({"STAGE": "local", "LOG_FORMAT": "json"})) == "json"


@pytest.mark.parametrize(
    ("value", "sane"),
    [
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("client.trace:42_x", True),
        ("short", False),
        ("has space in it", False),
        ("line\nbreak-injected", False),
        ("x" * 129, False),
        ("", False),
        (None, False),
    ],
)
def test_only_a_sane_token_is_taken_as_a_request_id(value: str | None, sane: bool) -> None:
    assert (sane_request_id(value) is not None) is sane
