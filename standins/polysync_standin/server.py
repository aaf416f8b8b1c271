"""The stand-in's server: moto's (every service moto has) behind a WSGI middleware that serves
the control API, records every Glue request body, injects Glue's faults, holds calls at gates
and answers Lambda's Invoke API with the real binaries.

Started by the harnesses (`standins/harness.py`, `tests/src/lib.rs`) as `python -m
polysync_standin`; prints ``POLYSYNC_STANDIN_URL=http://127.0.0.1:<port>`` once it listens,
and exits by itself when the process that started it is gone.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import threading
import time
from typing import Any
from urllib.parse import unquote

from moto.core.config import default_user_config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from . import control, glue, local_lambda, stepfunctions
from .state import STATE

LAMBDA_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


def _throttling(message: str) -> Response:
    return local_lambda.json_response(400, {"__type": "ThrottlingException", "message": message},
                                      {"x-amzn-ErrorType": "ThrottlingException"})


def _pick_glue_fault(operation: str, job_name: str | None) -> dict[str, Any] | None:
    """Glue's faults: throttle (ThrottlingException); http500 (a bare server fault); lost-reply
    (carried out, then a 500); slow (carried out after `seconds`)."""
    with STATE.lock:
        candidates = [f for f in STATE.glue_faults if f["operation"] in (operation, "*") and f.get("job") in (None, job_name)]
        return STATE.first_due(candidates)


class StandIn:
    """WSGI middleware in front of moto: control endpoints, request record, faults, gates."""

    def __init__(self) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith("/polysync-standin/"):
            return control.handle(request)(environ, start_response)
        invoke = LAMBDA_INVOKE_PATH.match(unquote(request.path))
        if invoke and request.method == "POST":
            if request.headers.get("X-Amz-Invocation-Type") == "Event":
                return local_lambda.invoke_async(invoke.group("name"), request.get_data())(environ, start_response)
            return local_lambda.invoke(invoke.group("name"), request.get_data())(environ, start_response)
        target = request.headers.get("X-Amz-Target", "")
        if not target.startswith("AWSGlue."):
            return self.moto(environ, start_response)
        return self._glue(target.split(".", 1)[1], request, environ, start_response)

    def _glue(self, operation: str, request: Request, environ: dict[str, Any], start_response: Any) -> Any:
        body = request.get_data()
        # moto reads the body again from the environ.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        parsed = json.loads(body or b"{}")
        with STATE.lock:
            STATE.requests.append({"operation": operation, "body": parsed})
        glue.record_job_queuing(operation, parsed)
        gate = STATE.gate_for(operation=operation, job=parsed.get("JobName"))
        if gate is not None:
            gate.pass_through()
        starting = operation == "StartJobRun"
        if starting:
            with STATE.lock:
                if glue.throttled():
                    return _throttling("Rate exceeded")(environ, start_response)
        # What this request asks of queuing and the execution class, for glue's StartJobRun.
        STATE.request_options.queuing = parsed.get("JobRunQueuingEnabled") if starting else None
        STATE.request_options.execution_class = parsed.get("ExecutionClass") if starting else None
        fault = _pick_glue_fault(operation, parsed.get("JobName"))
        if fault is None:
            return self.moto(environ, start_response)
        if fault["kind"] == "throttle":
            return _throttling("Rate exceeded (injected)")(environ, start_response)
        if fault["kind"] == "slow":
            time.sleep(float(fault.get("seconds", 5)))
            return self.moto(environ, start_response)
        if fault["kind"] == "lost-reply":
            # Carry the request out, then lose the answer on the way back.
            list(self.moto(environ, lambda *args, **kwargs: None))
        return Response("injected server fault", status=500, content_type="text/plain")(environ, start_response)


def _exit_with_parent(parent_pid: int) -> None:
    while True:
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        if os.getppid() == 1 and parent_pid != 1:
            os._exit(0)
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description="Polysync's local AWS stand-in (moto with the Polysync extension)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--parent-pid", type=int, default=os.getppid(), help="exit when this process ends")
    args = parser.parse_args()
    glue.install()
    stepfunctions.install()
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    server = make_server("127.0.0.1", args.port, StandIn(), threaded=True, request_handler=MotoRequestHandler)
    # The state-machine interpreter calls Lambda and the other services on this port.
    os.environ["MOTO_PORT"] = str(server.server_port)
    threading.Thread(target=_exit_with_parent, args=(args.parent_pid,), daemon=True).start()
    threading.Thread(target=glue.end_runs_on_time, daemon=True).start()
    print(f"POLYSYNC_STANDIN_URL=http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
