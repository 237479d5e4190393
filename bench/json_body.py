"""What the shared body decode costs on a 256 KB body, with and without the duplicate-key scan.

.venv/bin/python -m bench.json_body
"""

from __future__ import annotations

import timeit

import msgspec

from chalicelib.api.json_body import decode_body


class Body(msgspec.Struct):
    items: list[dict[str, str]]


def main() -> None:
    item = {f"k{i}": "v" * 20 for i in range(8)}
    raw = msgspec.json.encode({"items": [item] * 900})
    assert len(raw) < 262_144, len(raw)
    runs = 200
    plain = timeit.timeit(lambda: msgspec.json.decode(raw, type=Body), number=runs) / runs
    shared = timeit.timeit(lambda: decode_body(raw, Body, lambda exc: []), number=runs) / runs
    print(f"{len(raw)} bytes: msgspec alone {plain * 1e3:.2f} ms, with the duplicate-key scan {shared * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
