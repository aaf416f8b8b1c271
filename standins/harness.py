"""Brings up the local product: the AWS stand-in (moto + the Polysync Glue extension) and the
five real Lambda binaries behind `cargo lambda watch`, then deploys the real
`statemachine/glue-job.asl.json` into the stand-in's Step Functions interpreter.

Used by the demo (scripts/demo), the end-to-end tests (tests/e2e) and the load scripts. Everything
listens on free ports of 127.0.0.1 and stops with `close()` (or when this process ends). Its twin
for the Rust integration crate is tests/src/lib.rs, which starts the same processes for cargo
test (a cargo test cannot import Python).
"""

from __future__ import annotations

import ctypes
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTIONS = {
    "StartFunctionArn": "polysync-glue-start",
    "PollFunctionArn": "polysync-glue-poll",
    "CancelFunctionArn": "polysync-glue-cancel",
    "WakeFunctionArn": "polysync-glue-wake",
}
TERMINAL_EXECUTION_STATES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def function_arn(binary: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{binary}"


# How long a process may take to say it is ready: cargo lambda watch may first build.
READY_TIMEOUT = 120
# Ports are taken by the server itself; a port another process took first is tried again.
PORT_TRIES = 5


def until(condition: Any, seconds: float = 60, what: str = "the condition") -> Any:
    """Polls `condition` until it answers something true, which it returns; fails after
    `seconds`. A deadline for a test that would otherwise hang, never a measure of speed."""
    deadline = time.monotonic() + seconds
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {seconds} s")
        time.sleep(0.1)


def free_port() -> int:
    """A port free right now; the server that binds it may still lose it to another process,
    so callers try again on failure (PORT_TRIES)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_sockets(port: int) -> set[str]:
    """The socket inodes listening on 127.0.0.1:`port` (Linux's /proc/net/tcp: local address
    in hex, state 0A is LISTEN, the inode is the tenth field)."""
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            address, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and address == f"0100007F:{port:04X}":
                inodes.add(inode)
    return inodes


def process_tree(root: int) -> set[int]:
    """`root` and every process descended from it."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The field after the parenthesised name is the state, then the parent's pid.
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return tree


def listens(root: int, port: int) -> bool:
    """Whether `root` or a process under it holds the socket listening on `port`: something
    else accepting there (a process that took the port meanwhile) is not ready, it is wrong."""
    inodes = {f"socket:[{inode}]" for inode in listening_sockets(port)}
    if not inodes:
        return False
    for pid in process_tree(root):
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    return True
            except OSError:
                continue
    return False


def _die_with_parent() -> None:
    """In the child, before exec: its own process group (ended as a whole by close()), and
    SIGTERM when the process that started it dies (Linux prctl PR_SET_PDEATHSIG)."""
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def definition_with_substitutions(topic_arn: str) -> str:
    """The ASL as SAM deploys it: every ${...} replaced by its DefinitionSubstitutions value."""
    text = (ROOT / "statemachine" / "glue-job.asl.json").read_text()
    for placeholder, binary in FUNCTIONS.items():
        text = text.replace("${" + placeholder + "}", function_arn(binary))
    text = text.replace("${NotificationTopicArn}", topic_arn)
    if "${" in text:
        raise ValueError("the ASL has a ${...} without a local substitution")
    return text


def named_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each state of a definition's (or a branch's) `States` with its name, those of its
    Parallel branches included."""
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from named_states(branch["States"])


def every_state(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The definition's states, those of its Parallel branches included."""
    return [state for _, state in named_states(definition["States"])]


class LocalProduct:
    """The state machine, the functions and Glue, all local."""

    def __init__(self, function_env: dict[str, str] | None = None, concurrency: int = 4) -> None:
        self.logs = Path(tempfile.mkdtemp(prefix="polysync-local-"))
        self._processes: list[subprocess.Popen] = []
        try:
            self.url = self._start_standin()
            self.lambda_url = self._start_functions(function_env or {}, concurrency)
            self._post("/polysync-standin/lambda", {"url": self.lambda_url})
            self.session = session = boto3.session.Session(
                aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
            )
            config = Config(retries={"max_attempts": 1}, read_timeout=900)
            self.glue = session.client("glue", endpoint_url=self.url, config=config)
            self.sfn = session.client("stepfunctions", endpoint_url=self.url, config=config)
            self.lambda_ = session.client("lambda", endpoint_url=self.url, config=config)
            self.sns = session.client("sns", endpoint_url=self.url, config=config)
            self.sqs = session.client("sqs", endpoint_url=self.url, config=config)
            # The stack's topic, and a queue subscribed to it that a test reads as a mailbox.
            self.topic_arn = self.sns.create_topic(Name="polysync-glue-notifications")["TopicArn"]
            self._mailbox = self.sqs.create_queue(QueueName="polysync-glue-mailbox")["QueueUrl"]
            mailbox_arn = self.sqs.get_queue_attributes(
                QueueUrl=self._mailbox, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=mailbox_arn)
            self._received: list[dict[str, Any]] = []
            # The wake's table, as the template declares it, when the functions are told one.
            self.dynamodb = session.client("dynamodb", endpoint_url=self.url, config=config)
            self.wake_table = (function_env or {}).get("POLYSYNC_WAKE_TABLE")
            if self.wake_table:
                self.dynamodb.create_table(
                    TableName=self.wake_table, BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "runId", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "runId", "AttributeType": "S"}],
                )
            self.state_machine_arn = self.create_state_machine("polysync-glue-job")
        except BaseException:
            # The error names a log in self.logs: keep it.
            self.close(keep_logs=True)
            raise

    # --- processes ---------------------------------------------------------------------------

    def _spawn(self, command: list[str], log_name: str, **kwargs: Any) -> subprocess.Popen:
        """A child in its own process group, ended with this process; its output (standard
        error, and standard output unless given) in a log."""
        with open(self.logs / log_name, "ab") as log:
            kwargs.setdefault("stdout", log)
            process = subprocess.Popen(command, stderr=log, preexec_fn=_die_with_parent, **kwargs)
        self._processes.append(process)
        return process

    def _start_standin(self) -> str:
        python = os.environ.get("POLYSYNC_STANDIN_PYTHON", sys.executable)
        process = self._spawn(
            [python, "-m", "polysync_standin", "--port", "0", "--parent-pid", str(os.getpid())],
            "standin.log", stdout=subprocess.PIPE, text=True, cwd=ROOT / "standins",
        )
        # The stand-in binds port 0 itself and prints the one it got.
        stdout = process.stdout
        assert stdout is not None, "spawned with stdout=PIPE"
        with stdout, selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=READY_TIMEOUT)
            line = stdout.readline().strip() if ready else ""
        if not line.startswith("POLYSYNC_STANDIN_URL="):
            raise RuntimeError(f"the stand-in did not start (see {self.logs / 'standin.log'}): {line!r}")
        return line.split("=", 1)[1]

    def _start_functions(self, function_env: dict[str, str], concurrency: int) -> str:
        env_vars = {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            **function_env,
        }
        cargo_lambda = Path(sys.executable).parent / "cargo-lambda"
        for _ in range(PORT_TRIES):
            port = free_port()
            process = self._spawn(
                [
                    str(cargo_lambda), "lambda", "watch", "--ignore-changes", "--quiet",
                    "--invoke-address", "127.0.0.1", "--invoke-port", str(port),
                    "--concurrency", str(concurrency),
                    "--env-var", ",".join(f"{k}={v}" for k, v in env_vars.items()),
                ],
                "functions.log", cwd=ROOT,
            )
            deadline = time.monotonic() + READY_TIMEOUT
            while process.poll() is None and time.monotonic() < deadline:
                if listening_sockets(port):
                    if listens(process.pid, port):
                        return f"http://127.0.0.1:{port}"
                    break  # another process took the port: try another
                time.sleep(0.2)
            self._stop(process)
            # It exited (most likely: the port was taken meanwhile) or never listened: again.
        raise RuntimeError(f"cargo lambda watch did not start; see {self.logs / 'functions.log'}")

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        """Ends the process and everything it started (its process group)."""
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        else:
            # The leader is gone; its group may not be (the binaries under cargo lambda watch).
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self, keep_logs: bool = False) -> None:
        for process in reversed(self._processes):
            self._stop(process)
        self._processes.clear()
        if not (keep_logs or os.environ.get("POLYSYNC_KEEP_LOGS")):
            shutil.rmtree(self.logs, ignore_errors=True)

    def __enter__(self) -> LocalProduct:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the stand-in's control endpoints ----------------------------------------------------

    def _post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as answer:
            return json.loads(answer.read())

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path) as answer:
            return json.loads(answer.read())

    def _delete(self, path: str) -> Any:
        request = urllib.request.Request(self.url + path, method="DELETE")
        with urllib.request.urlopen(request) as answer:
            return json.loads(answer.read())

    def script(self, job_name: str, script: dict[str, Any]) -> None:
        """How the job's runs go: seconds in each live state, or "hold" to stay there until
        `end_run`, then their end."""
        self._post(f"/polysync-standin/jobs/{urllib.parse.quote(job_name, safe='')}/script", script)

    def end_run(self, job_name: str, state: str = "SUCCEEDED", run_id: str | None = None,
                error_message: str | None = None) -> list[str]:
        """Ends the job's live runs (or the one named) now, in `state`; the ids it ended."""
        body: dict[str, Any] = {"state": state, "runId": run_id, "errorMessage": error_message}
        path = f"/polysync-standin/jobs/{urllib.parse.quote(job_name, safe='')}/end"
        ended: list[str] = self._post(path, {k: v for k, v in body.items() if v is not None})["ended"]
        return ended

    def gate(self, name: str, **match: str) -> None:
        """Holds the calls that match (a Glue `operation`, maybe of one `job`; or a Lambda
        `function`) until released."""
        self._post("/polysync-standin/gates", {"name": name, **match})

    def gate_counts(self, name: str) -> dict[str, int]:
        """{"held": calls waiting at the gate now, "passed": calls it let through}."""
        counts: dict[str, int] = self._get(f"/polysync-standin/gates/{name}")
        return counts

    def release(self, name: str, count: int | None = None) -> None:
        """Lets `count` held calls through (default: those held now); the gate stays."""
        self._post(f"/polysync-standin/gates/{name}/release", {} if count is None else {"count": count})

    def open_gate(self, name: str) -> None:
        self._delete(f"/polysync-standin/gates/{name}")

    def deliveries(self, run_id: str) -> list[dict[str, Any]]:
        """Each EventBridge delivery (or drop) of the run's Glue event, with the wake's answers."""
        found: list[dict[str, Any]] = self._get(f"/polysync-standin/glue-events/deliveries?runId={urllib.parse.quote(run_id)}")
        return found

    def glue_events(self, **settings: Any) -> None:
        """Glue's run events to the wake function, as EventBridge delivers them (the stand-in's
        `glue-events`: delaySeconds, dropRate, duplicateRate, lateRate, lateSeconds)."""
        self._post("/polysync-standin/glue-events", {"function": "polysync-glue-wake", **settings})

    def fault(self, **fault: Any) -> None:
        self._post("/polysync-standin/faults", fault)

    def clear_faults(self) -> None:
        self._delete("/polysync-standin/faults")

    def glue_limits(self, **limits: Any) -> None:
        """Glue's account-level limits: maxConcurrentRuns, startJobRunPerSecond (None: off)."""
        self._post("/polysync-standin/glue-limits", limits)

    def lambda_fault(self, function: str, **fault: Any) -> None:
        """One of Lambda's own faults for `function` (kind: service-error, unknown, throttle)."""
        self._post(f"/polysync-standin/lambda/{function}/faults", fault)

    def lambda_concurrency(self, function: str, limit: int) -> None:
        self._post(f"/polysync-standin/lambda/{function}/concurrency", {"limit": limit})

    def invocations(self, function: str) -> int:
        count: int = self._get(f"/polysync-standin/lambda/{function}/invocations")["invocations"]
        return count

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [r["body"] for r in self._get(f"/polysync-standin/requests?operation={operation}")]

    # --- Glue and Step Functions ---------------------------------------------------------------

    def create_job(self, name: str, command: str = "glueetl", **definition: Any) -> None:
        """A Glue job of that kind (`Command.Name`: glueetl, gluestreaming, pythonshell, glueray)."""
        self.glue.create_job(
            Name=name,
            Role=f"arn:aws:iam::{ACCOUNT}:role/glue",
            Command={"Name": command, "ScriptLocation": f"s3://scripts/{name}.py"},
            **{"GlueVersion": "4.0", **definition},
        )

    def create_state_machine(
        self, name: str, timeout_seconds: int | None = None, history_budget: int | None = None,
        quick_faults: bool = False, topic_arn: str | None = None,
    ) -> str:
        """The real ASL; `timeout_seconds` adds a TimeoutSeconds, as a deployment may;
        `history_budget` lowers the definition's own setting (the poll task's historyBudget), so
        that a run of seconds is followed across child executions; `quick_faults` shortens every
        retry interval and fault round to a second, so a test sees the hour's rounds in seconds
        (the hour itself is proven on the real definition by the crate's unit tests)."""
        text = definition_with_substitutions(topic_arn or self.topic_arn)
        if quick_faults:
            text = text.replace("States.MathRandom(300, 420)", "States.MathRandom(1, 2)")
        definition = json.loads(text)
        if quick_faults:
            for state in every_state(definition):
                for retrier in state.get("Retry", []):
                    retrier.update(IntervalSeconds=1, MaxDelaySeconds=1, BackoffRate=1.0)
        if timeout_seconds is not None:
            definition["TimeoutSeconds"] = timeout_seconds
        if history_budget is not None:
            poll = next(s for s in every_state(definition) if s.get("Resource") == function_arn("polysync-glue-poll"))
            poll["Parameters"]["historyBudget"] = history_budget
        return self.sfn.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/polysync-glue-job"
        )["stateMachineArn"]

    def notifications(self) -> list[dict[str, Any]]:
        """Every message the topic has delivered so far: its Subject, Message and
        MessageAttributes as SNS hands them to a subscribed queue."""
        while True:
            answer = self.sqs.receive_message(QueueUrl=self._mailbox, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return list(self._received)
            for message in messages:
                self._received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self._mailbox, ReceiptHandle=message["ReceiptHandle"])

    def start_execution(self, name: str, job_input: dict[str, Any], state_machine_arn: str | None = None) -> str:
        return self.sfn.start_execution(
            stateMachineArn=state_machine_arn or self.state_machine_arn, name=name, input=json.dumps(job_input)
        )["executionArn"]

    def execution_status_change(self, execution_arn: str, include_input: bool = True) -> dict[str, Any]:
        """The EventBridge event AWS sends when an execution ends, as template.yaml's rule gets it.
        Without `include_input`, as Step Functions sends it when input and output pass 248 KB:
        no `input`, and `inputDetails.included` false."""
        execution = self.sfn.describe_execution(executionArn=execution_arn)
        detail = {
            "executionArn": execution_arn,
            "stateMachineArn": execution["stateMachineArn"],
            "name": execution["name"],
            "status": execution["status"],
            "startDate": int(execution["startDate"].timestamp() * 1000),
            "stopDate": int(execution["stopDate"].timestamp() * 1000) if execution.get("stopDate") else None,
            "input": execution["input"] if include_input else None,
            "inputDetails": {"included": include_input},
        }
        return {
            "version": "0",
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": ACCOUNT,
            "region": REGION,
            "resources": [execution_arn],
            "detail": detail,
        }

    def on_failure(self, function: str, queue_url: str, retry_seconds: float = 1) -> None:
        """The function's asynchronous invocations go to `queue_url` once Lambda's retries fail
        (template.yaml: CancelFunction's EventInvokeConfig)."""
        self._post(f"/polysync-standin/lambda/{function}/async",
                   {"onFailure": queue_url, "maximumRetryAttempts": 2, "retrySeconds": retry_seconds})

    def invoke_async(self, function: str, payload: dict[str, Any]) -> None:
        """Invokes as an EventBridge rule does: asynchronously, Lambda retrying on error."""
        answer = self.lambda_.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(payload))
        assert answer["StatusCode"] == 202, answer

    def invoke(self, function: str, payload: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Invokes a real binary through Lambda; (whether it failed, its JSON answer)."""
        answer = self.lambda_.invoke(FunctionName=function, Payload=json.dumps(payload))
        return "FunctionError" in answer, json.loads(answer["Payload"].read())

    def wait(self, execution_arn: str, timeout: float = 180) -> dict[str, Any]:
        began = time.monotonic()
        while True:
            execution = self.sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] in TERMINAL_EXECUTION_STATES:
                return execution
            waited = time.monotonic() - began
            if waited > timeout:
                # The time waited, too: one call that hangs overshoots the deadline.
                raise TimeoutError(
                    f"{execution_arn} still {execution['status']} after {waited:.0f} s (deadline {timeout} s): "
                    f"{self.timeline(execution_arn)}"
                )
            time.sleep(0.25)

    def timeline(self, execution_arn: str) -> str:
        """What the execution did, each event at its seconds from the start: a timeout says why."""
        events = self.history(execution_arn)
        if not events:
            return "no history"
        start = events[0]["timestamp"]

        def said(event: dict[str, Any]) -> str:
            entered = event.get("stateEnteredEventDetails")
            return f"{event['type']}({entered['name']})" if entered else event["type"]

        return ", ".join(f"{(e['timestamp'] - start).total_seconds():.1f} {said(e)}" for e in events)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events, token = [], None
        while True:
            page = self.sfn.get_execution_history(
                executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
            )
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    def executions(self, state_machine_arn: str) -> list[dict[str, Any]]:
        return self.sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]

    def runs(self, job_name: str) -> list[dict[str, Any]]:
        return self.glue.get_job_runs(JobName=job_name)["JobRuns"]

    def function_logs(self) -> str:
        return (self.logs / "functions.log").read_text(errors="replace")
