"""Drop-off throughput: one file through the broker's path against raw boto3 multipart, to the same moto server.

The broker's path is the upload page's: `POST /dropoff/uploads` (the Chalice app in this process), presigned
part URLs from `POST /dropoff/uploads/{id}/parts`, each part PUT with `requests` straight to the moto server
(as a browser would, its SHA-256 in the signed header), then `POST .../complete`, which lists the parts,
joins them and reads the object's checksum back. The floor is the same parts sent by boto3 itself:
CreateMultipartUpload, UploadPart with the part's SHA-256, CompleteMultipartUpload. Both compute the parts'
SHA-256s inside their timing, one part at a time, in one thread; the ratio is broker time over raw time.
Run: `.venv/bin/python -m bench.dropoff` (1 GiB); `VRE_BENCH_DROPOFF_BYTES=67108864` or `--size` for less.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import requests
from botocore.config import Config
from chalice.test import Client

from chalicelib import wiring
from chalicelib.services.messages import MailMessage
from chalicelib.services.studies.studies import create_study
from tests.support.stack import moto_server

GIB = 1024**3
MIB = 1024**2
BUCKET = "vre-local-uploads-123456789012-eu-west-1"
SIGN_BATCH = 100  # the most parts one parts request signs


class NoMail:
    """The notice goes nowhere: the bench measures the upload."""

    def send(self, message: MailMessage) -> None:
        return None


def pieces(size: int, part_size: int) -> Iterator[tuple[int, bytes]]:
    """The file's parts, made as they are sent (never the whole file in memory): numbered, each distinct."""
    block = os.urandom(part_size)
    number, sent = 1, 0
    while sent < size:
        length = min(part_size, size - sent)
        yield number, number.to_bytes(8, "big") + block[8:length] if length > 8 else block[:length]
        number, sent = number + 1, sent + length


def sha_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def through_broker(client: Client, code: str, size: int) -> tuple[float, int]:
    """Seconds for the page's path, and the part size the broker chose."""
    start = time.perf_counter()
    answer = client.http.post(
        "/dropoff/uploads",
        headers={"Content-Type": "application/json"},
        body=f'{{"upload_code": "{code}", "filename": "bench.bin", "size": {size}}}',
    )
    assert answer.status_code == 201, answer.body
    started = _json(answer.body)
    headers = {"Upload-Secret": started["upload_secret"], "Content-Type": "application/json"}
    upload_id, part_size = started["upload_id"], started["part_size"]
    whole = hashlib.sha256()
    batch: list[tuple[int, bytes]] = []

    def send(parts: list[tuple[int, bytes]]) -> None:
        listed = ",".join(f'{{"number": {n}, "checksum_sha256": "{sha_b64(d)}"}}' for n, d in parts)
        signed = client.http.post(
            f"/dropoff/uploads/{upload_id}/parts", headers=headers, body=f'{{"parts": [{listed}]}}'
        )
        assert signed.status_code == 200, signed.body
        for part, (_, data) in zip(_json(signed.body)["parts"], parts, strict=True):
            put = requests.put(part["url"], data=data, headers=part["headers"], timeout=120)
            assert put.status_code == 200, put.text

    for number, data in pieces(size, part_size):
        whole.update(data)
        batch.append((number, data))
        if len(batch) == SIGN_BATCH:
            send(batch)
            batch = []
    if batch:
        send(batch)
    done = client.http.post(
        f"/dropoff/uploads/{upload_id}/complete", headers=headers, body=f'{{"checksum_sha256": "{whole.hexdigest()}"}}'
    )
    assert done.status_code == 200, done.body
    return time.perf_counter() - start, part_size


def raw_boto3(endpoint: str, size: int, part_size: int) -> float:
    """Seconds for the same parts through boto3's own multipart calls."""
    s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
    start = time.perf_counter()
    created = s3.create_multipart_upload(Bucket=BUCKET, Key="bench/raw", ChecksumAlgorithm="SHA256")
    parts = []
    for number, data in pieces(size, part_size):
        checksum = sha_b64(data)
        sent = s3.upload_part(
            Bucket=BUCKET,
            Key="bench/raw",
            UploadId=created["UploadId"],
            PartNumber=number,
            Body=data,
            ChecksumSHA256=checksum,
        )
        parts.append({"PartNumber": number, "ETag": sent["ETag"], "ChecksumSHA256": checksum})
    s3.complete_multipart_upload(
        Bucket=BUCKET, Key="bench/raw", UploadId=created["UploadId"], MultipartUpload={"Parts": parts}
    )
    return time.perf_counter() - start


def _json(body: bytes | str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(body)
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = int(os.environ.get("VRE_BENCH_DROPOFF_BYTES", GIB))
    parser.add_argument("--size", type=int, default=default, help="file size in bytes (default 1 GiB)")
    args = parser.parse_args()
    os.environ["UPLOAD_BUCKET"] = BUCKET
    with moto_server() as stack:
        from app import app

        deps = wiring.dependencies()
        wiring.install(replace(deps, mail_queue_override=NoMail()))
        researcher_id = stack.researcher_token()[1]
        researcher = deps.researchers.get(researcher_id)
        assert researcher is not None
        study = create_study(researcher, deps.studies, deps.references, name="Bench study").study
        with Client(app, stage_name="local") as client:
            broker_seconds, part_size = through_broker(client, study.upload_code, args.size)
        # moto keeps every object in memory: drop the broker's before the raw run makes its own.
        deps.storage.delete_all(f"{study.id}/")
        raw_seconds = raw_boto3(stack.environ["AWS_ENDPOINT_URL"], args.size, part_size)
    mib = args.size / MIB
    print(f"drop-off: {mib:.0f} MiB in parts of {part_size // MIB} MiB to one moto server")
    for label, seconds in (
        ("broker's path (start, presign, PUT parts, complete)", broker_seconds),
        ("raw boto3 multipart (create, upload_part, complete)", raw_seconds),
    ):
        print(f"  {label}: {seconds:6.2f} s  {mib / seconds:7.1f} MiB/s")
    print(f"  ratio (broker time / raw time): {broker_seconds / raw_seconds:.2f}")


if __name__ == "__main__":
    main()
