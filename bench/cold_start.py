"""Cold start: a fresh interpreter imports the API and answers its first authenticated `GET /me`.

Compared, in the same run and against the same moto server, with a bare Chalice + boto3 + pynamodb
app whose one route reads one item. DESIGN.md's budget: at most 1.3 x the bare app.
Run: `make bench` (or `.venv/bin/python -m bench.cold_start --runs 7`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

EVENT: dict[str, Any] = {
    "resource": "/me",
    "path": "/me",
    "httpMethod": "GET",
    "headers": {},
    "multiValueHeaders": {},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {"resourcePath": "/me", "httpMethod": "GET", "requestId": "bench", "path": "/api/me"},
    "body": None,
    "isBase64Encoded": False,
}

# Each child prints {"import_ms", "request_ms", "status", "rss_kb"}; it starts timing at its first line.
# Peak RSS is VmHWM: ru_maxrss would carry the parent's peak across exec.
BROKER = """
import time; t0 = time.perf_counter()
import json, sys
event = json.loads(sys.argv[1])
import app
t1 = time.perf_counter()
response = app.app(event, None)
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "request_ms": (t2 - t1) * 1000, "status": response["statusCode"],
                  "rss_kb": int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")))}))
"""

BARE = """
import time; t0 = time.perf_counter()
import json, os, sys
event = json.loads(sys.argv[1])
import boto3
from chalice import Chalice
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

class Researcher(Model):
    class Meta:
        table_name = os.environ["TABLE_PREFIX"] + "researchers"
        region = os.environ["AWS_REGION"]
        host = os.environ["AWS_ENDPOINT_URL"]
    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()

app = Chalice(app_name="bare")

@app.route("/me")
def me():
    return {"name": Researcher.get(os.environ["BENCH_RESEARCHER_ID"]).name}

t1 = time.perf_counter()
response = app(event, None)
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "request_ms": (t2 - t1) * 1000, "status": response["statusCode"],
                  "rss_kb": int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")))}))
"""


def _run(code: str, event: dict[str, Any], environ: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(event)],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_ms"] = (time.perf_counter() - started) * 1000
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from tests.support.stack import moto_server

    with moto_server() as stack:
        token, researcher_id = stack.researcher_token()
        environ = {**stack.environ, "BENCH_RESEARCHER_ID": researcher_id, "PATH": os.environ.get("PATH", "")}
        event: dict[str, Any] = {
            **EVENT,
            "headers": {"authorization": f"Bearer {token}"},
            "multiValueHeaders": {"authorization": [f"Bearer {token}"]},
        }
        results: dict[str, list[dict[str, float]]] = {"broker": [], "bare": []}
        for _ in range(args.runs):  # interleaved, so machine noise hits both alike
            results["broker"].append(_run(BROKER, event, environ))
            results["bare"].append(_run(BARE, event, environ))

    for name, runs in results.items():
        assert all(r["status"] == 200 for r in runs), (name, runs)
    median = {
        name: {
            key: statistics.median(r[key] for r in runs) for key in ("import_ms", "request_ms", "process_ms", "rss_kb")
        }
        for name, runs in results.items()
    }
    print(f"cold start, median of {args.runs} fresh interpreters each (moto server on loopback)")
    print(f"{'':8}{'import ms':>12}{'1st GET /me ms':>16}{'import+GET ms':>15}{'process ms':>12}{'peak RSS MB':>13}")
    for name, m in median.items():
        total = m["import_ms"] + m["request_ms"]
        print(
            f"{name:8}{m['import_ms']:12.0f}{m['request_ms']:16.0f}{total:15.0f}{m['process_ms']:12.0f}"
            f"{m['rss_kb'] / 1024:13.1f}"
        )
    ratio = (median["broker"]["import_ms"] + median["broker"]["request_ms"]) / (
        median["bare"]["import_ms"] + median["bare"]["request_ms"]
    )
    print(f"ratio broker / bare (import + first GET /me): {ratio:.2f}  (budget 1.30)")


if __name__ == "__main__":
    main()
