"""The local Lambda: Lambda's Invoke API in front of the real function binaries (served by
`cargo lambda watch`, whose URL the harness sets), with the faults moto's Lambda never has.

Sources for each fault, Lambda developer guide: "Lambda function scaling" (an invocation over
the concurrency limit is throttled: 429 TooManyRequestsException, ReservedFunctionConcurrent
InvocationLimitExceeded); "Invoke" API reference (ServiceException, 500: "The Lambda service
encountered an internal error"); a function that times out or crashes answers a function error
whose payload has no errorType (Step Functions: Lambda.Unknown). An invocation can be reported
failed while the function still runs: the client's side of the call ended, not the function
(Step Functions then retries at once). Asynchronous invocation (as EventBridge makes): "Asynchronous
invocation" (two retries by default) and "Configuring destinations" (the on-failure record).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Response

from .state import STATE

ACCOUNT_REGION = ("123456789012", "us-east-1")
FAULT_KINDS = {"service-error", "unknown", "throttle"}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, default=str), status=status, headers=headers, content_type="application/json")


def function_name(function: str) -> str:
    """The name in a function ARN, maybe with a qualifier, or the name itself."""
    return function.split(":function:")[-1].split(":")[0]


def function_arn(name: str) -> str:
    account, region = ACCOUNT_REGION
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def _lambda_error(status: int, code: str, message: str) -> Response:
    """An error of the Lambda service itself, as its Invoke API answers one (rest-json: the code
    in x-amzn-ErrorType); Step Functions reports it as Lambda.<code>."""
    return json_response(status, {"Type": "Service" if status >= 500 else "User", "message": message},
                         {"x-amzn-ErrorType": code})


def invoke(function: str, payload: bytes) -> Response:
    """Runs the real binary, unless one of Lambda's own faults strikes first. A gate on the
    function (`gates`) holds the invocation before it runs."""
    name = function_name(function)
    with STATE.lock:
        STATE.lambda_invocations[name] = STATE.lambda_invocations.get(name, 0) + 1
        fault = STATE.first_due(STATE.lambda_faults.get(name, []))
        limit = STATE.lambda_limits.get(name)
        if fault is None and limit is not None and STATE.lambda_running.get(name, 0) >= limit:
            return _lambda_error(429, "TooManyRequestsException",
                                 "Rate Exceeded. (ReservedFunctionConcurrentInvocationLimitExceeded)")
        STATE.lambda_running[name] = STATE.lambda_running.get(name, 0) + 1
    try:
        gate = STATE.gate_for(function=name)
        if gate is not None:
            gate.pass_through()
        return _fault(name, payload, fault) if fault else _run(name, payload)
    finally:
        with STATE.lock:
            STATE.lambda_running[name] -= 1


def _fault(name: str, payload: bytes, fault: dict[str, Any]) -> Response:
    kind = fault["kind"]
    if kind == "throttle":
        return _lambda_error(429, "TooManyRequestsException", "Rate Exceeded.")
    if kind == "service-error":
        # The function goes on running; only the caller is told it failed.
        threading.Thread(target=_run, args=(name, payload), daemon=True).start()
        return _lambda_error(500, "ServiceException", "The Lambda service encountered an internal error.")
    # unknown: a timeout or a crash; "afterRunning", once the function did its work.
    if fault.get("afterRunning"):
        _run(name, payload)
    timed_out = {"errorMessage": f"{datetime.now(UTC).isoformat()} Task timed out after 60.00 seconds"}
    return Response(json.dumps(timed_out), status=200, content_type="application/json",
                    headers={"X-Amz-Function-Error": "Unhandled"})


def _run(name: str, payload: bytes) -> Response:
    """Runs the real binary through the configured Lambda Invoke API."""
    if not STATE.lambda_url:
        return json_response(404, {"Type": "User", "message": f"Function not found: {name} (no Lambda runtime set)"},
                             {"x-amzn-ErrorType": "ResourceNotFoundException"})
    forward = urllib.request.Request(
        f"{STATE.lambda_url}/2015-03-31/functions/{name}/invocations", data=payload or b"{}", method="POST"
    )
    try:
        with urllib.request.urlopen(forward, timeout=600) as answer:
            return Response(answer.read(), status=200, content_type="application/json")
    except urllib.error.HTTPError as error:
        # cargo lambda watch answers a handler error with HTTP 500 and the error reply as body;
        # Lambda answers 200 and marks it with X-Amz-Function-Error.
        body = error.read()
        try:
            json.loads(body)["errorType"]
        except (ValueError, KeyError, TypeError):
            return json_response(502, {"message": f"the Lambda runtime failed: {body[:500]!r}"},
                                 {"x-amzn-ErrorType": "ServiceException"})
        return Response(body, status=200, content_type="application/json",
                        headers={"X-Amz-Function-Error": "Unhandled"})


def deliver_async(function: str, payload: bytes, answered: Callable[[Any], None] | None = None) -> list[Any]:
    """One asynchronous invocation to its end: on a function error Lambda tries twice more
    (`maximumRetryAttempts`), then sends its on-failure record to the function's destination
    queue, if one is set. Retries come after `retrySeconds` here, not Lambda's minute and two
    minutes. Each attempt's answer goes to `answered` as it comes; all of them are returned."""
    name = function_name(function)
    with STATE.lock:
        settings = dict(STATE.async_settings.get(name, {}))
    attempts = 1 + int(settings.get("maximumRetryAttempts", 2))
    answers: list[Any] = []
    for attempt in range(1, attempts + 1):
        response = invoke(function, payload)
        answer = response.get_data()
        try:
            answers.append(json.loads(answer or b"{}"))
        except ValueError:
            answers.append(answer.decode(errors="replace"))
        if answered is not None:
            answered(answers[-1])
        if "X-Amz-Function-Error" not in response.headers and response.status_code == 200:
            return answers
        if attempt < attempts:
            time.sleep(float(settings.get("retrySeconds", 1)))
    queue_url = settings.get("onFailure")
    if queue_url:
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {"functionArn": function_arn(name), "condition": "RetriesExhausted",
                               "approximateInvokeCount": attempts},
            "requestPayload": json.loads(payload or b"{}"),
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": answers[-1],
        }
        _own_client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))
    return answers


def invoke_async(function: str, payload: bytes) -> Response:
    """An asynchronous invocation (InvocationType Event): accepted at once (202)."""
    threading.Thread(target=deliver_async, args=(function, payload), daemon=True).start()
    return Response(b"", status=202)


def _own_client(service: str) -> Any:
    import boto3

    account, region = ACCOUNT_REGION
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{os.environ['MOTO_PORT']}", region_name=region,
                        aws_access_key_id="test", aws_secret_access_key="test")
