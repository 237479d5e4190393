"""The mail family, in three parts: what each mail says (`phrases`, English and Dutch), how it is built
(`render`, plain text and HTML from one list of blocks) and sending it once (`delivery`, one claim → send →
release for every kind of mail); `notices` is how a workspace change owes its owner a mail.

The invitations and uploads services and the workspace changes queue small messages (ids, and the raw
invitation token, never the mail itself); the mail worker hands each to `deliver` or
`deliver_workspace_mail`. Pure: no boto3 and no Chalice. Callers import from here.
"""

from chalicelib.services.mail.delivery import (
    CLAIM_LIFETIME,
    MailDeliveryError,
    deliver,
    deliver_workspace_mail,
    invitee_locale,
    send_once,
    study_admins,
)
from chalicelib.services.mail.notices import EVENTS, owe, send_owed, workspace_message
from chalicelib.services.mail.phrases import PHRASES, Phrases, WorkspacePhrases
from chalicelib.services.mail.render import (
    ACCEPT_PATH,
    Block,
    Link,
    Paragraph,
    Quote,
    accept_link,
    render_answer,
    render_html,
    render_invitation,
    render_text,
    render_upload_received,
    render_workspace_mail,
    uploads_link,
)

__all__ = [
    "ACCEPT_PATH",
    "CLAIM_LIFETIME",
    "EVENTS",
    "PHRASES",
    "Block",
    "Link",
    "MailDeliveryError",
    "Paragraph",
    "Phrases",
    "Quote",
    "WorkspacePhrases",
    "accept_link",
    "deliver",
    "deliver_workspace_mail",
    "invitee_locale",
    "owe",
    "render_answer",
    "render_html",
    "render_invitation",
    "render_text",
    "render_upload_received",
    "render_workspace_mail",
    "send_once",
    "send_owed",
    "study_admins",
    "uploads_link",
    "workspace_message",
]
