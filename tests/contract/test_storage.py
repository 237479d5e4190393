"""`ObjectStorage`: the in-memory fake and the S3 adapter (on moto) answer alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from chalicelib.config import get_settings
from chalicelib.providers.storage import S3Storage
from chalicelib.services.common.model import new_id
from chalicelib.services.dropoff.dropoff import composite_checksum
from chalicelib.services.dropoff.storage import NoSuchMultipartError, ObjectStorage, PartsChangedError
from tests.support.fakes_storage import InMemoryStorage, checksum


@pytest.fixture(params=["memory", "s3"])
def storage(request: pytest.FixtureRequest) -> Iterator[ObjectStorage]:
    if request.param == "memory":
        yield InMemoryStorage()
    else:
        request.getfixturevalue("aws")
        yield S3Storage(get_settings())


def put(storage: ObjectStorage, key: str, multipart_id: str, number: int, data: bytes) -> None:
    """What the browser does with a signed part URL."""
    signed = storage.sign_part(key, multipart_id, number, checksum(data), 60)
    assert signed.headers == {"x-amz-checksum-sha256": checksum(data)}
    if isinstance(storage, InMemoryStorage):
        storage.put_part(multipart_id, number, data)
    else:
        assert requests.put(signed.url, data=data, headers=dict(signed.headers), timeout=30).status_code == 200


def test_a_multipart_upload_joins_its_parts_with_a_checksum_of_their_checksums(storage: ObjectStorage) -> None:
    key = f"{new_id()}/{new_id()}/file"
    pieces = {1: b"a" * (5 * 1024**2), 2: b"tail"}
    multipart_id = storage.start_multipart(key, content_type="text/csv")
    for number, data in pieces.items():
        put(storage, key, multipart_id, number, data)

    held = storage.parts(key, multipart_id)
    storage.complete_multipart(key, multipart_id, [(p.number, p.etag, checksum(pieces[p.number])) for p in held])
    stored = storage.head(key)

    assert [(p.number, p.size) for p in held] == [(1, 5 * 1024**2), (2, 4)]
    assert stored is not None
    assert stored.size == 5 * 1024**2 + 4
    assert stored.checksum_sha256.split("-")[0] == composite_checksum([checksum(pieces[1]), checksum(pieces[2])])


def test_a_part_not_as_listed_is_refused_at_complete(storage: ObjectStorage) -> None:
    key = f"{new_id()}/{new_id()}/file"
    multipart_id = storage.start_multipart(key, content_type=None)
    put(storage, key, multipart_id, 1, b"data")

    with pytest.raises(PartsChangedError):
        storage.complete_multipart(key, multipart_id, [(1, '"0123456789abcdef0123456789abcdef"', checksum(b"data"))])


def test_an_aborted_upload_is_gone_and_aborting_again_is_fine(storage: ObjectStorage) -> None:
    key = f"{new_id()}/{new_id()}/file"
    multipart_id = storage.start_multipart(key, content_type=None)
    storage.abort_multipart(key, multipart_id)
    storage.abort_multipart(key, multipart_id)

    with pytest.raises(NoSuchMultipartError):
        storage.parts(key, multipart_id)


def test_everything_under_a_prefix_goes_and_the_first_segments_are_listed(storage: ObjectStorage) -> None:
    study = new_id()
    storage.put_marker(f"{study}/{new_id()}/file")
    storage.put_marker(f"{study}/{new_id()}/file")

    assert f"{study}/" in storage.top_prefixes()
    assert storage.delete_all(f"{study}/") == 2
    assert f"{study}/" not in storage.top_prefixes()
    assert storage.head(f"{study}/x") is None
