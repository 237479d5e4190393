"""What travels on the two queues, as typed messages: built and decoded here and nowhere else.

Each queue carries a tagged union of `msgspec` structs with one tag key, `type`, so a worker decodes a body
in one call and dispatches with one `match`. Only ids and the raw invitation token travel; the workers read
the rest as it is when the message arrives. Every message carries the request id of the work that sent it
(the API request, the worker step or the scheduled run), so its logs join the sender's.

A body no retry can fix (not JSON, an unknown `type`, a field missing or of the wrong type) raises
`MalformedMessageError`; the workers log it and drop the record rather than retry it into the dead-letter
queue.

Provisioning messages sent before this release are tagged `kind` instead of `type`; they are still decoded
for one release, so messages in flight (checks are delayed up to 15 minutes) survive the upgrade.
"""

from __future__ import annotations

from typing import Annotated, Literal, cast

import msgspec

from chalicelib.logs import current_request_id
from chalicelib.redaction import redacted_repr
from chalicelib.services.studies.model import InvitationStatus

Id = Annotated[str, msgspec.Meta(min_length=1)]
WorkspaceMailEvent = Literal["ready", "failed", "expiring", "expired"]
Answer = Literal["accepted", "declined"]
StandDown = Literal["removed", "left", "demoted"]


class MalformedMessageError(ValueError):
    """A queued body that no retry could handle: not JSON, an unknown type, a field missing or mistyped."""


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Every message of either queue: the request id its sender worked for (the current one by default)."""

    request_id: str = msgspec.field(default_factory=current_request_id)

    @property
    def type(self) -> str:
        """The message's tag: what it asks for (`invitation`, `converge`, ...)."""
        return str(self.__struct_config__.tag)


# The mail queue ----------------------------------------------------------------------------------


class InvitationMessage(Message, frozen=True, tag="invitation"):
    """Send the invitation mail that carries `token` (the current link of the invitation)."""

    mail_id: Id
    invitation_id: Id
    token: Id

    def __repr__(self) -> str:
        return redacted_repr(self, {"token"})


class AnswerMessage(Message, frozen=True, tag="invitation_answered"):
    """Tell the inviter that the invitee accepted or declined."""

    mail_id: Id
    invitation_id: Id
    answer: Answer

    @property
    def status(self) -> InvitationStatus:
        return InvitationStatus(self.answer)


def answer_of(status: InvitationStatus) -> Answer:
    """What an `invitation_answered` message says for an invitation's new status (accepted or declined)."""
    if status is InvitationStatus.ACCEPTED:
        return "accepted"
    if status is InvitationStatus.DECLINED:
        return "declined"
    raise ValueError(f"an invitation is not answered by becoming {status.value}")


class UploadReceivedMessage(Message, frozen=True, tag="upload_received"):
    """Tell the study's admins that the upload `tusd_id` arrived."""

    mail_id: Id
    tusd_id: Id


class WorkspaceMessage(Message, frozen=True, tag="workspace"):
    """Send the owner the `event` mail about a workspace, once per `mail_id`."""

    mail_id: Id
    workspace_id: Id
    event: WorkspaceMailEvent


class InviterStoodDownMessage(Message, frozen=True, tag="inviter_stood_down"):
    """Revoke the pending invitations `inviter_id` sent in the study: they were removed, left or lost admin.

    No mail goes out; it travels on the mail queue because that worker already keeps the invitations.
    """

    study_id: Id
    inviter_id: Id
    actor_id: Id
    reason: StandDown


MailMessage = InvitationMessage | AnswerMessage | UploadReceivedMessage | WorkspaceMessage | InviterStoodDownMessage


# The provisioning queue --------------------------------------------------------------------------


class ConvergeMessage(Message, frozen=True, tag="converge"):
    """Bring the workspace where its state says (from the API or the reconciler)."""

    workspace_id: Id


class CheckMessage(Message, frozen=True, tag="check"):
    """Look at the workspace's server again; only the check carrying the workspace's current token counts."""

    workspace_id: Id
    token: Id


ProvisioningMessage = ConvergeMessage | CheckMessage


class _LegacyConverge(msgspec.Struct, frozen=True, tag_field="kind", tag="converge"):
    workspace_id: Id


class _LegacyCheck(msgspec.Struct, frozen=True, tag_field="kind", tag="check"):
    workspace_id: Id
    token: Id


_mail = msgspec.json.Decoder(MailMessage)
_provisioning = msgspec.json.Decoder(ProvisioningMessage)
_legacy_provisioning = msgspec.json.Decoder(_LegacyConverge | _LegacyCheck)
_encoder = msgspec.json.Encoder()


def encode(message: Message) -> str:
    """The queue body of a message."""
    return _encoder.encode(message).decode()


def decode_mail(body: str | bytes) -> MailMessage:
    """A mail queue body as its message; `MalformedMessageError` if it is not one."""
    try:
        return cast("MailMessage", _mail.decode(body))
    except msgspec.DecodeError as exc:  # ValidationError included
        raise MalformedMessageError(f"not a mail message: {exc}") from exc


def decode_provisioning(body: str | bytes) -> ProvisioningMessage:
    """A provisioning queue body as its message (the `kind`-tagged form of the last release too)."""
    try:
        return cast("ProvisioningMessage", _provisioning.decode(body))
    except msgspec.DecodeError as exc:
        try:
            legacy = _legacy_provisioning.decode(body)
        except msgspec.DecodeError:
            raise MalformedMessageError(f"not a provisioning message: {exc}") from exc
    if isinstance(legacy, _LegacyCheck):
        return CheckMessage(workspace_id=legacy.workspace_id, token=legacy.token)
    return ConvergeMessage(workspace_id=legacy.workspace_id)
