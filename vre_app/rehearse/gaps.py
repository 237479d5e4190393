"""Where moto's server falls short of AWS for a deploy, and the harness's patch for each (a WSGI layer).

The deploy sends what it sends to AWS; these patches change only what moto receives or how it answers, so
the rehearsal runs the same requests an operator's deploy makes.

1. ImportRestApi: moto reads `info.description` of the document and fails with a KeyError when it is absent
   (Chalice sends none). The layer adds an empty description to the body before moto parses it.
2. ImportRestApi and PutRestApi (the upgrade's `mode=overwrite`): moto takes OpenAPI 3 only and refuses the
   Swagger 2.0 document Chalice sends ("Only OpenAPI 3.x.x are currently supported"), though what it reads of
   it (`paths`, each method's `responses` and `x-amazon-apigateway-integration`) is the same in both. The layer
   relabels the document `openapi: 3.0.1`; moto does not validate it further unless `failonwarnings` is set,
   which Chalice does not set.
3. The same two calls: moto's `put_integration` takes `uri` and `httpMethod` as required, so the CORS
   preflight's `mock` integration (which has neither, rightly) fails with a TypeError (a 500). The layer gives
   such an integration `uri: ""` and `httpMethod: OPTIONS`; the proxy integrations are left as they are.
4. ListEventSourceMappings `FunctionName=<name>`: moto compares the filter with the string the mapping was
   created with (Chalice creates it with the function's ARN), where AWS takes a name, ARN or partial ARN alike,
   so the deploy's step 5 finds no mapping. The layer turns a bare name into the function's ARN in moto's
   account and the request's region.
5. UpdateStack with `UsePreviousValue` for a parameter the stack was created without (it took the template's
   default, as `AlarmEmail` does on a first deploy without `--alarm-email`): AWS keeps the default, moto fails
   with a KeyError (a 500). The layer drops such a parameter from the request, so moto applies the template's
   default: what AWS keeps.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def _is_import_rest_api(environ: Environ) -> bool:
    """`PUT|POST /restapis?mode=...` on the apigateway endpoint (what ImportRestApi / PutRestApi send)."""
    path = str(environ.get("PATH_INFO", ""))
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    return (
        "/apigateway/" in authorization
        and path.rstrip("/").startswith("/restapis")
        and (environ.get("REQUEST_METHOD") in ("POST", "PUT") and "mode=" in str(environ.get("QUERY_STRING", "")))
    )


def as_moto_reads_it(body: bytes) -> bytes:
    """The API document with `info.description` set (kept where present) and labelled OpenAPI 3."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not isinstance(document, dict):
        return body
    info = document.setdefault("info", {})
    if isinstance(info, dict) and "description" not in info:
        info["description"] = ""
    if "swagger" in document:
        document["openapi"] = "3.0.1"
        del document["swagger"]
    for methods in (document.get("paths") or {}).values():
        for integration in _integrations(methods):
            integration.setdefault("uri", "")
            integration.setdefault("httpMethod", "OPTIONS")
    return json.dumps(document).encode()


def _integrations(methods: object) -> list[dict[str, Any]]:
    if not isinstance(methods, dict):
        return []
    found = [method.get("x-amazon-apigateway-integration") for method in methods.values() if isinstance(method, dict)]
    return [integration for integration in found if isinstance(integration, dict)]


_REGION = re.compile(r"Credential=[^/]+/\d+/([a-z0-9-]+)/lambda/")


def _function_arn_filter(environ: Environ) -> str | None:
    """The query of a ListEventSourceMappings by bare function name, with the name made an ARN; else None."""
    if environ.get("REQUEST_METHOD") != "GET" or "/event-source-mappings" not in str(environ.get("PATH_INFO", "")):
        return None
    region = _REGION.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    query = parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    names = [value for key, value in query if key == "FunctionName"]
    if region is None or not names or names[0].startswith("arn:"):
        return None
    from moto.core.models import DEFAULT_ACCOUNT_ID

    arn = f"arn:aws:lambda:{region.group(1)}:{DEFAULT_ACCOUNT_ID}:function:{names[0]}"
    return urlencode([(key, arn if key == "FunctionName" else value) for key, value in query])


_MEMBER = re.compile(r"Parameters\.member\.(\d+)\.(\w+)")


def _without_unset_previous_values(body: bytes, region: str) -> bytes | None:
    """An UpdateStack body without the `UsePreviousValue` parameters moto's stack has no value of; else None."""
    fields = parse_qsl(body.decode(), keep_blank_values=True)
    values = dict(fields)
    if values.get("Action") != "UpdateStack":
        return None
    members: dict[int, dict[str, str]] = {}
    for key, value in fields:
        if match := _MEMBER.fullmatch(key):
            members.setdefault(int(match.group(1)), {})[match.group(2)] = value
    from moto.cloudformation.models import cloudformation_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    stacks = cloudformation_backends[DEFAULT_ACCOUNT_ID][region].stacks.values()
    known = [stack.parameters for stack in stacks if stack.name == values.get("StackName")]
    if not known:
        return None
    kept = [
        member
        for _, member in sorted(members.items())
        if member.get("UsePreviousValue") != "true" or member.get("ParameterKey") in known[-1]
    ]
    if len(kept) == len(members):
        return None
    others = [(key, value) for key, value in fields if not _MEMBER.fullmatch(key)]
    renumbered = [
        (f"Parameters.member.{index}.{name}", value)
        for index, member in enumerate(kept, start=1)
        for name, value in member.items()
    ]
    return urlencode(others + renumbered).encode()


_ANY_REGION = re.compile(r"Credential=[^/]+/\d+/([a-z0-9-]+)/cloudformation/")


class MotoGaps:
    """A WSGI layer in front of moto's server that patches the requests moto cannot take as AWS does."""

    def __init__(self, application: WsgiApp) -> None:
        self.application = application
        self.patched: list[str] = []

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if _is_import_rest_api(environ):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            patched = as_moto_reads_it(body)
            environ["wsgi.input"] = io.BytesIO(patched)
            environ["CONTENT_LENGTH"] = str(len(patched))
            if patched != body:
                self.patched.append(f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO')}: document relabelled")
        region = _ANY_REGION.search(str(environ.get("HTTP_AUTHORIZATION", "")))
        if region is not None and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            patched_body = _without_unset_previous_values(body, region.group(1))
            if patched_body is not None:
                self.patched.append("UpdateStack: UsePreviousValue of a defaulted parameter dropped")
                body = patched_body
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        query = _function_arn_filter(environ)
        if query is not None:
            environ["QUERY_STRING"] = query
            self.patched.append("ListEventSourceMappings: function name made an ARN")
        return self.application(environ, start_response)
