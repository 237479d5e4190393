"""Request and response bodies as typed msgspec structs; the OpenAPI document is made from these.

Requests forbid unknown fields, so a misspelt field is a 422 rather than silently ignored.
Partial updates use `UNSET` for "leave alone" and `null` for "clear".
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Raw, Struct, UnsetType

# Every timestamp is RFC 3339 in the document (msgspec says so only for `tz=True`), so `""` is not schema-valid.
Timestamp = Annotated[datetime, Meta(extra_json_schema={"format": "date-time"})]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"\S", description="1-200 characters")]
Description = Annotated[str, Meta(max_length=5000)]
Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Phone = Annotated[str, Meta(pattern=r"^\+?[0-9 ()-]{3,40}$")]
LocaleName = Literal["en", "nl"]
RoleName = Literal["viewer", "contributor", "admin", "owner"]
# A role a member can be given: ownership moves only by transfer.
GrantedRole = Annotated[
    Literal["viewer", "contributor", "admin"],
    Meta(description="The owner changes only by POST /studies/{study_id}/transfer."),
]


class Request(Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of request bodies."""


class Health(Struct):
    status: str
    version: str


class MeView(Struct):
    id: str
    email: str
    email_verified: Annotated[
        bool,
        Meta(
            description="Whether the identity provider verified `email` at the last login. Invitations are accepted, "
            "declined and listed (GET /me/invitations) only for a verified email; otherwise they answer 403."
        ),
    ]
    name: str
    university: str | None
    research_field: str | None
    phone: str | None
    locale: LocaleName
    is_admin: bool
    created_at: Timestamp


class MeUpdate(Request):
    name: Name | UnsetType = UNSET
    research_field: Id | UnsetType | None = UNSET
    phone: Phone | UnsetType | None = UNSET
    locale: LocaleName | UnsetType = UNSET


class UniversityView(Struct):
    id: str
    name: str
    schac_home_organization: str | None


class ResearchFieldView(Struct):
    id: str
    name: str


class StudyView(Struct, omit_defaults=True):
    id: str
    name: str
    description: str
    research_field: str | None
    owner_id: str
    role: RoleName | None
    created_at: Timestamp
    updated_at: Timestamp
    version: int
    # Only on a single study (a list would need a count per study).
    member_count: int | UnsetType = UNSET
    # Only for members with contributor or more.
    upload_url: str | UnsetType = UNSET


class StudyCreate(Request):
    name: Name
    description: Description = ""
    research_field: Id | None = None


class StudyUpdate(Request):
    name: Name | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    research_field: Id | UnsetType | None = UNSET
    # The `version` read earlier: when given and stale, the update is a 409.
    version: Annotated[int, Meta(ge=1)] | UnsetType = UNSET


class StudyTransfer(Request):
    researcher_id: Id


class MemberView(Struct):
    researcher_id: str
    name: str | None
    email: str | None
    role: RoleName
    joined_at: Timestamp


class MemberUpdate(Request):
    role: GrantedRole


class AuditView(Struct):
    id: str
    at: Timestamp
    actor_id: str
    action: str
    target: str
    outcome: Literal["success", "denied"]
    detail: str


class PlatformAuditView(AuditView):
    """An entry of the platform's log: `study_id` is null for what platform admins did outside any study."""

    study_id: str | None


class AdminStudyView(Struct):
    id: str
    name: str
    description: str
    research_field: str | None
    owner_id: str
    created_at: Timestamp
    updated_at: Timestamp
    # The study's quota overrides (null: the stage's defaults).
    max_workspaces: int | None
    max_vcpus: int | None


class Problem(Struct, omit_defaults=True):
    """RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldErrorView] | UnsetType = UNSET
    request_id: str | UnsetType = UNSET


class FieldErrorView(Struct):
    field: str
    message: str


class UploadCodeView(Struct):
    upload_code: str
    upload_url: str


class LoginQuery(Struct):
    next: Annotated[str, Meta(max_length=600)] | None = None


class CallbackQuery(Struct):
    """The provider's redirect back. Unbounded here so that nothing it sends is refused with a problem
    document: the login service refuses overlong values with a redirect to the console's login page."""

    code: str | None = None
    state: str | None = None
    error: str | None = None
    # RFC 9207: the issuer of this answer, when the provider says.
    iss: str | None = None


class LoginCodeExchange(Request):
    login_code: Annotated[str, Meta(min_length=1, max_length=256)]


class SessionView(Struct):
    access_token: str
    token_type: str
    expires_in: int


class ApiTokenCreate(Request):
    name: Name
    expires_at: Annotated[Timestamp, Meta(tz=True)] | None = None


class ApiTokenView(Struct):
    id: str
    name: str
    created_at: Timestamp
    expires_at: Timestamp | None


class NewApiTokenView(Struct):
    id: str
    name: str
    created_at: Timestamp
    expires_at: Timestamp | None
    # Shown once, here; only its hash is kept.
    token: str


class ResearcherAdminView(Struct):
    id: str
    email: str
    name: str
    university: str | None
    is_admin: bool
    disabled: bool
    created_at: Timestamp


class ResearcherAdminUpdate(Request):
    is_admin: bool | UnsetType = UNSET
    disabled: bool | UnsetType = UNSET


Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
InviteRole = Literal["viewer", "contributor", "admin"]


class InvitationCreate(Request):
    email: Email
    role: InviteRole
    name: Annotated[str, Meta(max_length=200)] = ""
    # The document gives the ceiling any stage may set; the stage's own limit is a 422 naming `message`.
    message: Annotated[
        str,
        Meta(
            max_length=10000,
            description="At most the stage's INVITATION_MESSAGE_MAX characters (2,000 unless the stage sets more).",
        ),
    ] = ""


class InvitationView(Struct):
    id: str
    study_id: str
    email: str
    name: str
    role: RoleName
    status: Literal["pending", "accepted", "declined", "revoked", "expired"]
    mail_status: Literal["queued", "sent", "failed"]
    inviter_id: str
    message: str
    created_at: Timestamp
    expires_at: Timestamp


class InvitationAnswer(Request):
    token: Annotated[str, Meta(min_length=1, max_length=200)]


class MembershipView(Struct):
    study_id: str
    researcher_id: str
    role: RoleName
    joined_at: Timestamp


class UploadView(Struct, omit_defaults=True):
    id: str
    file_name: str
    size: int
    received_bytes: int
    status: Literal["admitted", "received", "aborted", "deleted"]
    at: Timestamp
    updated_at: Timestamp
    tusd_id: str
    storage: dict[str, str]
    sender_name: str | UnsetType = UNSET
    sender_email: str | UnsetType = UNSET
    file_type: str | UnsetType = UNSET
    # The whole file's SHA-256 (hex) as the uploader computed it; S3's checksum of its parts' SHA-256s.
    checksum_sha256: str | UnsetType = UNSET
    checksum_sha256_parts: str | UnsetType = UNSET


# tusd v2 HTTP hooks (github.com/tus/tusd/v2/pkg/hooks: HookRequest, HookResponse), field for field with
# tusd's Go names. tusd may add fields: these structs take what they know and ignore the rest.

Int64 = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class TusdUpload(Struct):
    """`Event.Upload`: tusd's FileInfo; ID is empty and Storage null in pre-create."""

    ID: str = ""
    Size: Int64 | None = None
    SizeIsDeferred: bool = False
    Offset: Int64 = 0
    MetaData: dict[str, str] | None = None
    IsPartial: bool = False
    IsFinal: bool = False
    PartialUploads: list[str] | None = None
    Storage: dict[str, str] | None = None


class TusdHttpRequest(Struct):
    """`Event.HTTPRequest`: the uploader's request to tusd."""

    Method: str = ""
    URI: str = ""
    RemoteAddr: str = ""
    Header: dict[str, list[str]] | None = None


class TusdEvent(Struct):
    Upload: TusdUpload
    HTTPRequest: TusdHttpRequest | None = None


class TusdHookRequest(Struct):
    """What tusd v2 posts to its hook URL; `Upload` at the top level is how tusd v1 posted."""

    Type: Annotated[str, Meta(max_length=64)] | UnsetType = UNSET
    Event: TusdEvent | UnsetType = UNSET
    Upload: Raw | UnsetType = UNSET


class TusdHttpResponse(Struct, omit_defaults=True):
    StatusCode: int
    Body: str
    Header: dict[str, str]


class TusdFileInfoChanges(Struct, omit_defaults=True):
    ID: str
    MetaData: dict[str, str]


class TusdHookResponse(Struct, omit_defaults=True):
    """The hook's answer: empty to let tusd go on; pre-create may reject, or set the id and metadata."""

    HTTPResponse: TusdHttpResponse | UnsetType = UNSET
    RejectUpload: bool = False
    ChangeFileInfo: TusdFileInfoChanges | UnsetType = UNSET
