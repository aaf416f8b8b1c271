"""The control API: how a test sets the stand-in up and reads what it recorded (JSON, beside the
AWS APIs on the same port, under /polysync-standin/).

  GET    health
  POST   jobs/<job name>/script        body: a run script (glue.RunScript; "hold" keeps a phase until ended)
  POST   jobs/<job name>/end           body: {"state", "runId"?, "errorMessage"?}: ends the job's live runs
                                       (or the one named) now; answers {"ended": [run ids]}
  POST   faults                        body: {"operation", "kind", "rate"?, "count"?, "job"?, "seconds"?}
  DELETE faults                        (Glue's and Lambda's faults and concurrency limits)
  GET    requests?operation=StartJobRun
  POST   glue-limits                   body: {"maxConcurrentRuns"?, "startJobRunPerSecond"?}
  POST   glue-events                   body: {"function", "delaySeconds"?: [low, high], "dropRate"?,
                                              "duplicateRate"?, "lateRate"?, "lateSeconds"?}
  GET    glue-events/deliveries?runId=  each delivery (or drop) of a run's event, with the answers
  POST   gates                         body: {"name", "operation"?, "job"?, "function"?}: hold matching
                                       Glue calls (operation, job) or Lambda invocations (function)
  GET    gates/<name>                  {"held", "passed"}
  POST   gates/<name>/release          body: {"count"?}: let the oldest that many (default: all held now) through
  DELETE gates/<name>                  open the gate for good
  POST   lambda                        body: {"url": "<Lambda Invoke API of the binaries>"}
  POST   lambda/<function>/async       body: {"onFailure": queue URL, "maximumRetryAttempts"?, "retrySeconds"?}
  POST   lambda/<function>/faults      body: {"kind", "rate"?, "count"?, "seconds"?, "afterRunning"?}
  POST   lambda/<function>/concurrency body: {"limit": N}
  GET    lambda/<function>/invocations (how many the function received)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from . import eventbridge, glue, local_lambda
from .state import STATE, Gate

GLUE_FAULT_KINDS = {"throttle", "http500", "lost-reply", "slow"}
json_response = local_lambda.json_response


class Refused(Exception):
    """A control request a test got wrong: answered 400 with the reason."""


def _health(request: Request) -> Any:
    return {"ok": True}


def _script(request: Request, job_name: str) -> Any:
    script = request.get_json(force=True)
    try:
        glue.RunScript(script, 0)  # refuse a bad script now, not at the first GetJobRun
    except (ValueError, KeyError) as error:
        raise Refused(str(error)) from error
    with STATE.lock:
        STATE.scripts[job_name] = script
    return {"job": job_name, "script": script}


def _end(request: Request, job_name: str) -> Any:
    body = request.get_json(force=True)
    try:
        ended = glue.end_runs(job_name, body.get("state", ""), body.get("runId"), body.get("errorMessage"))
    except ValueError as error:
        raise Refused(str(error)) from error
    return {"ended": ended}


def _glue_limits(request: Request) -> Any:
    limits = request.get_json(force=True)
    unknown = set(limits) - set(STATE.glue_limits)
    if unknown:
        raise Refused(f"unknown limits {sorted(unknown)}; known: {sorted(STATE.glue_limits)}")
    with STATE.lock:
        STATE.glue_limits.update(limits)
        return dict(STATE.glue_limits)


def _glue_events(request: Request) -> Any:
    try:
        return eventbridge.configure(request.get_json(force=True))
    except ValueError as error:
        raise Refused(str(error)) from error


def _deliveries(request: Request) -> Any:
    return eventbridge.deliveries(request.args.get("runId"))


def _add_fault(request: Request) -> Any:
    fault = request.get_json(force=True)
    if fault.get("kind") not in GLUE_FAULT_KINDS:
        raise Refused(f"kind must be one of {', '.join(sorted(GLUE_FAULT_KINDS))}")
    if not fault.get("operation"):
        raise Refused("operation is required (a Glue operation, or * for all)")
    with STATE.lock:
        STATE.glue_faults.append(fault)
    return fault


def _clear_faults(request: Request) -> Any:
    with STATE.lock:
        STATE.glue_faults.clear()
        STATE.lambda_faults.clear()
        STATE.lambda_limits.clear()
    return {}


def _requests(request: Request) -> Any:
    operation = request.args.get("operation")
    with STATE.lock:
        return [r for r in STATE.requests if operation in (None, r["operation"])]


def _add_gate(request: Request) -> Any:
    body = request.get_json(force=True)
    name = body.pop("name", None)
    if not name or "/" in name or not body or set(body) - {"operation", "job", "function"}:
        raise Refused("a gate needs a name (without /) and what it holds: operation (and job), or function")
    with STATE.lock:
        if name in STATE.gates:
            raise Refused(f"gate {name} exists")
        STATE.gates[name] = Gate(body)
    return {"name": name, **body}


def _gate(name: str) -> Gate:
    with STATE.lock:
        gate = STATE.gates.get(name)
    if gate is None:
        raise Refused(f"no gate {name}")
    return gate


def _gate_counts(request: Request, name: str) -> Any:
    return _gate(name).counts()


def _release(request: Request, name: str) -> Any:
    gate = _gate(name)
    released = gate.release((request.get_json(force=True, silent=True) or {}).get("count"))
    return {"released": released, **gate.counts()}


def _open_gate(request: Request, name: str) -> Any:
    with STATE.lock:
        gate = STATE.gates.pop(name, None)
    if gate is None:
        raise Refused(f"no gate {name}")
    gate.open()
    return gate.counts()


def _lambda_url(request: Request) -> Any:
    with STATE.lock:
        STATE.lambda_url = request.get_json(force=True)["url"].rstrip("/")
        return {"url": STATE.lambda_url}


def _lambda_faults(request: Request, function: str) -> Any:
    fault = request.get_json(force=True)
    if fault.get("kind") not in local_lambda.FAULT_KINDS:
        raise Refused(f"kind must be one of {', '.join(sorted(local_lambda.FAULT_KINDS))}")
    if fault.get("seconds") is not None:
        fault["until"] = time.time() + float(fault["seconds"])
    with STATE.lock:
        STATE.lambda_faults.setdefault(function, []).append(fault)
    return {"function": function, **fault}


def _lambda_concurrency(request: Request, function: str) -> Any:
    with STATE.lock:
        STATE.lambda_limits[function] = int(request.get_json(force=True)["limit"])
        return {"function": function, "limit": STATE.lambda_limits[function]}


def _lambda_invocations(request: Request, function: str) -> Any:
    with STATE.lock:
        return {"function": function, "invocations": STATE.lambda_invocations.get(function, 0)}


def _lambda_async(request: Request, function: str) -> Any:
    with STATE.lock:
        STATE.async_settings[function] = request.get_json(force=True)
        return {"function": function, **STATE.async_settings[function]}


# (method, path) for fixed paths; (method, prefix, suffix) for paths with a name between.
FIXED: dict[tuple[str, str], Callable[[Request], Any]] = {
    ("GET", "health"): _health,
    ("POST", "glue-limits"): _glue_limits,
    ("POST", "glue-events"): _glue_events,
    ("GET", "glue-events/deliveries"): _deliveries,
    ("POST", "faults"): _add_fault,
    ("DELETE", "faults"): _clear_faults,
    ("GET", "requests"): _requests,
    ("POST", "gates"): _add_gate,
    ("POST", "lambda"): _lambda_url,
}
NAMED: list[tuple[str, str, str, Callable[[Request, str], Any]]] = [
    ("POST", "jobs/", "/script", _script),
    ("POST", "jobs/", "/end", _end),
    ("GET", "gates/", "", _gate_counts),
    ("POST", "gates/", "/release", _release),
    ("DELETE", "gates/", "", _open_gate),
    ("POST", "lambda/", "/faults", _lambda_faults),
    ("POST", "lambda/", "/concurrency", _lambda_concurrency),
    ("GET", "lambda/", "/invocations", _lambda_invocations),
    ("POST", "lambda/", "/async", _lambda_async),
]


def handle(request: Request) -> Response:
    path = request.path[len("/polysync-standin/"):]
    try:
        fixed = FIXED.get((request.method, path))
        if fixed is not None:
            return json_response(200, fixed(request))
        for method, prefix, suffix, named in NAMED:
            if request.method != method or not path.startswith(prefix) or not path.endswith(suffix):
                continue
            name = unquote(path[len(prefix):len(path) - len(suffix)])
            # A suffix-less path ("gates/<name>") must not swallow a longer one.
            if name and (suffix or "/" not in name):
                return json_response(200, named(request, name))
    except Refused as refused:
        return json_response(400, {"error": str(refused)})
    return json_response(404, {"error": f"no control endpoint {request.method} {request.path}"})
