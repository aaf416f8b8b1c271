"""EventBridge's delivery of Glue's own events ("Glue Job State Change") to a Lambda function.

A run that ends SUCCEEDED, FAILED, TIMEOUT or STOPPED sends one (none for ERROR or EXPIRED): Glue
developer guide, "Automating AWS Glue with EventBridge" (the event's shape and the states that
send one). EventBridge delivers at least once and best effort: asynchronously, after a delay,
sometimes late, twice or never, at the rates a test sets (`glue-events`). Off unless set. Each
delivery is recorded with the function's answer (`deliveries`), so a test counts what arrived
instead of waiting for it.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

from .local_lambda import ACCOUNT_REGION, deliver_async
from .state import STATE

GLUE_EVENT_STATES = {"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"}
SETTINGS = {"function", "delaySeconds", "dropRate", "duplicateRate", "lateRate", "lateSeconds"}


def configure(settings: dict[str, Any]) -> dict[str, Any]:
    unknown = set(settings) - SETTINGS
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(SETTINGS)}")
    with STATE.lock:
        STATE.glue_events.clear()
        STATE.glue_events.update({"function": None, **settings})
        return dict(STATE.glue_events)


def deliveries(run_id: str | None) -> list[dict[str, Any]]:
    with STATE.lock:
        return [{**d, "answers": list(d.get("answers", []))} for d in STATE.deliveries if run_id in (None, d["runId"])]


def send_glue_event(job_name: str, run_id: str, state: str) -> None:
    with STATE.lock:
        settings = dict(STATE.glue_events)
        function = settings.get("function")
        if not function or state not in GLUE_EVENT_STATES:
            return
        rng = STATE.random
        if rng.random() < float(settings.get("dropRate", 0)):
            STATE.deliveries.append({"runId": run_id, "state": state, "dropped": True})
            return
        low, high = settings.get("delaySeconds", [0.1, 1.0])
        delays = [rng.uniform(low, high)]
        if rng.random() < float(settings.get("lateRate", 0)):
            delays[0] += float(settings.get("lateSeconds", 30))
        if rng.random() < float(settings.get("duplicateRate", 0)):
            delays.append(delays[0] + rng.uniform(low, high))
    account, region = ACCOUNT_REGION
    event = {
        "version": "0", "id": f"{run_id}-{state}", "detail-type": "Glue Job State Change",
        "source": "aws.glue", "account": account, "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region, "resources": [],
        "detail": {"jobName": job_name, "severity": "INFO" if state == "SUCCEEDED" else "ERROR",
                   "state": state, "jobRunId": run_id, "message": f"Job run {state.lower()}"},
    }
    payload = json.dumps(event).encode()

    def deliver(after: float) -> None:
        time.sleep(after)
        # Recorded when it arrives; each attempt's answer is added as the function gives it.
        delivery: dict[str, Any] = {"runId": run_id, "state": state, "dropped": False, "answers": []}
        with STATE.lock:
            STATE.deliveries.append(delivery)

        def answered(answer: Any) -> None:
            with STATE.lock:
                delivery["answers"].append(answer)

        deliver_async(function, payload, answered)

    for after in delays:
        threading.Thread(target=deliver, args=(after,), daemon=True).start()
