"""The stand-in's one state object: every setting a test made and everything it recorded.

Each concern reads and writes its part of `STATE` under `STATE.lock`; nothing else in the package
keeps state of its own (a moto patch is a function, and a run's own life is on the run).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# A call held at a gate goes on by itself after this long, so a test that forgets to release
# one fails on its own assertion instead of hanging the suite.
GATE_TIMEOUT_SECONDS = 120.0


class Gate:
    """Holds the calls it matches until a test releases them: a control of *when*, in place of
    a scripted delay. Calls are released in the order they arrived, each by its own ticket, so a
    call that arrives after a release is held, never let through in a held call's place.
    `held` counts the calls waiting now, `passed` those that went on."""

    def __init__(self, match: dict[str, Any]) -> None:
        self.match = match
        self.passed = 0
        self._tickets = 0
        self._waiting: deque[int] = deque()
        self._released: set[int] = set()
        self._open = False
        self._changed = threading.Condition()

    def matches(self, **call: Any) -> bool:
        return all(call.get(key) == value for key, value in self.match.items())

    def pass_through(self) -> None:
        with self._changed:
            ticket = self._tickets
            self._tickets += 1
            self._waiting.append(ticket)
            self._changed.notify_all()
            released = self._changed.wait_for(lambda: self._open or ticket in self._released, timeout=GATE_TIMEOUT_SECONDS)
            if not released and ticket in self._waiting:
                self._waiting.remove(ticket)  # timed out: it goes on, so the test fails on its own
            self._released.discard(ticket)
            self.passed += 1
            self._changed.notify_all()

    def release(self, count: int | None) -> int:
        """Lets the `count` oldest held calls through (default: all held now); calls that come
        later are held. Answers how many it released."""
        with self._changed:
            count = len(self._waiting) if count is None else min(count, len(self._waiting))
            for _ in range(count):
                self._released.add(self._waiting.popleft())
            self._changed.notify_all()
            return count

    def open(self) -> None:
        with self._changed:
            self._open = True
            self._waiting.clear()
            self._changed.notify_all()

    def counts(self) -> dict[str, int]:
        with self._changed:
            return {"held": len(self._waiting), "passed": self.passed}


@dataclass
class StandInState:
    lock: threading.RLock = field(default_factory=threading.RLock)
    random: random.Random = field(default_factory=lambda: random.Random(int(os.environ.get("POLYSYNC_STANDIN_SEED", "7"))))
    # Glue: each job's run script, injected faults, the record of every request body (bounded, so
    # a long load run cannot grow the stand-in without end; far above what any test reads).
    scripts: dict[str, dict[str, Any]] = field(default_factory=dict)
    glue_faults: list[dict[str, Any]] = field(default_factory=list)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=500_000))
    # Glue's account-level limits (None: none), every run of every job, recent StartJobRun
    # instants, and each job's JobRunQueuingEnabled as CreateJob / UpdateJob set it (moto drops it).
    glue_limits: dict[str, Any] = field(default_factory=lambda: {"maxConcurrentRuns": None, "startJobRunPerSecond": None})
    all_runs: list[Any] = field(default_factory=list)
    recent_starts: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    job_queuing: dict[str, bool] = field(default_factory=dict)
    # What the StartJobRun being served asks of queuing and of the execution class (moto drops both).
    request_options: threading.local = field(default_factory=threading.local)
    # Lambda: where the real binaries answer, per function its asynchronous settings, faults,
    # concurrency limit, invocations running now and invocations received in all.
    lambda_url: str | None = None
    async_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    lambda_faults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lambda_limits: dict[str, int] = field(default_factory=dict)
    lambda_running: dict[str, int] = field(default_factory=dict)
    lambda_invocations: dict[str, int] = field(default_factory=dict)
    # EventBridge: where Glue's run events go and how they are delivered, and each delivery made.
    glue_events: dict[str, Any] = field(default_factory=lambda: {"function": None})
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    # Gates by name.
    gates: dict[str, Gate] = field(default_factory=dict)

    def gate_for(self, **call: Any) -> Gate | None:
        with self.lock:
            return next((gate for gate in self.gates.values() if gate.matches(**call)), None)

    def first_due(self, faults: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The first fault that strikes now: by its count, within its stretch of time, or at its rate."""
        with self.lock:
            for fault in faults:
                if fault.get("until") is not None and time.time() >= fault["until"]:
                    continue
                if fault.get("count") is not None:
                    if fault["count"] <= 0:
                        continue
                    fault["count"] -= 1
                    return fault
                if self.random.random() < float(fault.get("rate", 1.0)):
                    return fault
        return None


STATE = StandInState()
