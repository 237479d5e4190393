"""The rehearsal's patches for moto's gaps change only what moto cannot take, and leave AWS-shaped requests be."""

from __future__ import annotations

import json

from vre_app.rehearse.gaps import _function_arn_filter, as_moto_reads_it

SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "vre-broker", "version": "1.0"},
    "paths": {
        "/studies": {
            "get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": "arn:fn", "httpMethod": "POST"}},
            "options": {"x-amazon-apigateway-integration": {"type": "mock"}},
        }
    },
}


def test_chalices_swagger_is_relabelled_with_a_description_and_its_mock_integrations_completed() -> None:
    document = json.loads(as_moto_reads_it(json.dumps(SWAGGER).encode()))
    assert document["openapi"] == "3.0.1"
    assert "swagger" not in document
    assert document["info"] == {"title": "vre-broker", "version": "1.0", "description": ""}
    methods = document["paths"]["/studies"]
    proxy = {"type": "aws_proxy", "uri": "arn:fn", "httpMethod": "POST"}
    assert methods["get"]["x-amazon-apigateway-integration"] == proxy
    assert methods["options"]["x-amazon-apigateway-integration"] == {"type": "mock", "uri": "", "httpMethod": "OPTIONS"}


def test_a_body_that_is_not_json_is_passed_on_as_it_is() -> None:
    assert as_moto_reads_it(b"not json") == b"not json"


def test_a_mapping_filter_by_name_becomes_the_functions_arn_and_an_arn_is_left_alone() -> None:
    auth = "AWS4-HMAC-SHA256 Credential=rehearsal/20261207/eu-west-1/lambda/aws4_request"
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/2015-03-31/event-source-mappings/",
        "HTTP_AUTHORIZATION": auth,
        "QUERY_STRING": "FunctionName=vre-broker-dev-deliver_mail",
    }
    query = _function_arn_filter(environ)
    assert (
        query == "FunctionName=arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Avre-broker-dev-deliver_mail"
    )
    environ["QUERY_STRING"] = "FunctionName=arn:aws:lambda:eu-west-1:1:function:f"
    assert _function_arn_filter(environ) is None
