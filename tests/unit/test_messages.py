"""The queues' typed messages: every type survives the trip, and a body no retry can fix is one typed error."""

from __future__ import annotations

import json

import pytest

from chalicelib.logs import bound_request_id
from chalicelib.services.messages import (
    AnswerMessage,
    CheckMessage,
    ConvergeMessage,
    InvitationMessage,
    MalformedMessageError,
    Message,
    UploadReceivedMessage,
    WorkspaceMessage,
    decode_mail,
    decode_provisioning,
    encode,
)

MAIL: list[Message] = [
    InvitationMessage(mail_id="m", invitation_id="i", token="t", request_id="r"),
    AnswerMessage(mail_id="m", invitation_id="i", answer="accepted", request_id="r"),
    UploadReceivedMessage(mail_id="m", tusd_id="s/u", request_id="r"),
    WorkspaceMessage(mail_id="m", workspace_id="w", event="expiring", request_id="r"),
]
PROVISIONING: list[Message] = [
    ConvergeMessage(workspace_id="w", request_id="r"),
    CheckMessage(workspace_id="w", token="t", request_id="r"),
]


@pytest.mark.parametrize("message", MAIL, ids=lambda m: m.type)
def test_every_mail_message_round_trips(message: Message) -> None:
    assert decode_mail(encode(message)) == message
    assert json.loads(encode(message))["type"] == message.type


@pytest.mark.parametrize("message", PROVISIONING, ids=lambda m: m.type)
def test_every_provisioning_message_round_trips(message: Message) -> None:
    assert decode_provisioning(encode(message)) == message
    assert json.loads(encode(message))["type"] == message.type


def test_a_message_carries_the_request_id_it_was_made_under() -> None:
    # GIVEN work running under a request id
    with bound_request_id("req-12345678"):
        # WHEN it builds a message without naming one
        message = ConvergeMessage(workspace_id="w")

    # THEN the message carries it onto the queue
    assert json.loads(encode(message))["request_id"] == "req-12345678"


def test_the_last_releases_kind_tagged_provisioning_messages_still_decode() -> None:
    # Messages in flight at the upgrade (a check is delayed up to 15 minutes) were tagged `kind`.
    assert decode_provisioning('{"kind": "converge", "workspace_id": "w"}') == ConvergeMessage(
        workspace_id="w", request_id=""
    )
    assert decode_provisioning('{"kind": "check", "workspace_id": "w", "token": "t"}') == CheckMessage(
        workspace_id="w", token="t", request_id=""
    )


def test_a_mail_body_without_request_id_decodes() -> None:
    # What the last release queued had no request id; it still delivers.
    body = '{"type": "invitation", "mail_id": "m", "invitation_id": "i", "token": "t"}'

    assert decode_mail(body) == InvitationMessage(mail_id="m", invitation_id="i", token="t", request_id="")


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        '{"type": "postcard", "mail_id": "m"}',  # unknown tag
        '{"type": "workspace", "mail_id": "m", "workspace_id": "w"}',  # missing field
        '{"type": "workspace", "mail_id": "m", "workspace_id": "w", "event": "exploded"}',  # not an event
        '{"type": "upload_received", "mail_id": 5, "tusd_id": "s/u"}',  # wrong type
        '{"type": "converge", "workspace_id": "w"}',  # the other queue's message
    ],
)
def test_a_body_that_is_no_mail_message_is_malformed(body: str) -> None:
    with pytest.raises(MalformedMessageError):
        decode_mail(body)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"type": "reboot", "workspace_id": "w"}',  # unknown tag
        '{"kind": "explode", "workspace_id": "w"}',  # unknown old tag
        '{"type": "check", "workspace_id": "w"}',  # missing field
        '{"type": "converge", "workspace_id": 7}',  # wrong type
        '{"type": "converge", "workspace_id": ""}',
    ],
)
def test_a_body_that_is_no_provisioning_message_is_malformed(body: str) -> None:
    with pytest.raises(MalformedMessageError):
        decode_provisioning(body)
