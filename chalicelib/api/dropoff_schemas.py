"""Bodies of the drop-off's routes (`/dropoff/uploads`) and of a member's download link."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from chalicelib.api.schemas import Request, Timestamp

Checksum = Annotated[
    str, Meta(min_length=1, max_length=100, description="SHA-256: 64 hex digits, or base64 as S3 writes it")
]
PartNumber = Annotated[int, Meta(ge=1, le=10000)]


class DropoffStart(Request):
    upload_code: Annotated[str, Meta(min_length=1, max_length=128)]
    filename: Annotated[str, Meta(min_length=1, max_length=1020)]
    size: Annotated[int, Meta(ge=0, le=2**53)]
    filetype: Annotated[str, Meta(max_length=200)] | None = None
    sender_name: Annotated[str, Meta(max_length=200)] | None = None
    sender_email: Annotated[str, Meta(max_length=254)] | None = None


class DropoffStarted(Struct):
    upload_id: str
    upload_secret: Annotated[str, Meta(description="Send back as the Upload-Secret header; shown once")]
    part_size: int
    part_count: int
    expires_at: Timestamp


class PartToSign(Request):
    number: PartNumber
    checksum_sha256: Checksum


class DropoffParts(Request):
    parts: Annotated[list[PartToSign], Meta(min_length=1, max_length=100)]


class SignedPartView(Struct):
    number: int
    url: str
    headers: Annotated[dict[str, str], Meta(description="Send these with the PUT, exactly: they are signed")]
    expires_at: Timestamp


class SignedPartsView(Struct):
    parts: list[SignedPartView]


class HeldPartView(Struct, omit_defaults=True):
    number: int
    size: int
    etag: str
    checksum_sha256: str | UnsetType = UNSET


class DropoffProgress(Struct, omit_defaults=True):
    upload_id: str
    state: Literal["admitted", "received", "aborted", "deleted"]
    size: int
    part_size: int
    part_count: int
    parts: list[HeldPartView]
    expires_at: Timestamp | UnsetType = UNSET


class DropoffComplete(Request):
    checksum_sha256: Checksum


class DownloadView(Struct):
    url: str
    expires_at: Timestamp
