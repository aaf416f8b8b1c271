"""Cold start of the function binaries against a hello-world lambda_runtime binary built with
the same profile, through a minimal local Lambda Runtime API. A second baseline, hello world plus
one GetJobRun through aws-sdk-glue, shows what the SDK alone costs.

For each binary, ROUNDS times: spawn it with AWS_LAMBDA_RUNTIME_API pointing here, time process
start -> its first `GET /runtime/invocation/next` (init), hand it an event and time the answer
(first invocation), then the same event again (warm invocation); read its peak RSS (VmHWM).
Each function's event makes one Glue call to the stand-in, so the first invocation includes
building the SDK and its client (done lazily, on the first invocation) and a Glue call. Prints
medians and ratios.

    .venv/bin/python bench/cold_start.py [ROUNDS]       (after cargo build --release --bins)
    POLYSYNC_BENCH_BUILD=DIR .venv/bin/python bench/cold_start.py [ROUNDS]   (the binaries in DIR)
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from io import BytesIO
from pathlib import Path

from harness import ACCOUNT, REGION

ROOT = Path(__file__).resolve().parent.parent

# Another build (another profile or flags, see BENCHMARKS.md) through POLYSYNC_BENCH_BUILD.
RELEASE = Path(os.environ.get("POLYSYNC_BENCH_BUILD", ROOT / "target" / "release"))
BASELINE = "polysync-glue-hello-baseline"
# Hello world plus one GetJobRun through aws-sdk-glue: what the SDK alone costs.
SDK_BASELINE = "polysync-glue-sdk-baseline"
BINARIES = [BASELINE, SDK_BASELINE, "polysync-glue-poll", "polysync-glue-start", "polysync-glue-cancel", "polysync-glue-discover"]


class RuntimeApi(http.server.ThreadingHTTPServer):
    """The three Runtime API calls a function makes, with timestamps."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RuntimeHandler)
        self.events: queue.Queue = queue.Queue()
        self.first_next: float | None = None
        self.answers: queue.Queue = queue.Queue()
        self.handed_at: float = 0.0


class RuntimeHandler(http.server.BaseHTTPRequestHandler):
    server: RuntimeApi

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.server.first_next is None:
            self.server.first_next = time.perf_counter()
        request_id, payload = self.server.events.get()
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.server.handed_at = time.perf_counter()
        self.wfile.write(body)

    def do_POST(self) -> None:
        answered = time.perf_counter()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.server.answers.put((answered - self.server.handed_at, self.path.endswith("/error"), body))


@contextlib.contextmanager
def started(binary: Path, env: dict[str, str], wrapper: tuple[str, ...] = ()):
    """`binary` (under `wrapper`, such as valgrind, if given) running against a fresh local
    Runtime API, once it has asked for its first event."""
    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    launched = time.perf_counter()
    process = subprocess.Popen(
        [*wrapper, str(binary)],
        env={**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while api.first_next is None:
            time.sleep(0.0005)
        yield api, process, api.first_next - launched
    finally:
        process.kill()
        process.wait()
        api.shutdown()


def invoke(api: RuntimeApi, name: str, event: dict, binary: Path, timeout: float = 30) -> tuple[float, bytes]:
    """Hands `event` to the function; returns how long it took to answer, and the answer."""
    api.events.put((f"request-{name}", event))
    seconds, failed, body = api.answers.get(timeout=timeout)
    if failed:
        raise RuntimeError(f"{binary.name} answered an error: {body[:300]!r}")
    return seconds, body


def measure(binary: Path, event: dict, env: dict[str, str]) -> dict[str, float]:
    with started(binary, env) as (api, process, init_seconds):
        timings = {"init": init_seconds, "init_rss_kib": vm_hwm(process.pid)}
        for name in ("first", "warm"):
            timings[name], _ = invoke(api, name, event, binary)
        timings["rss_kib"] = vm_hwm(process.pid)
        return timings


def vm_hwm(pid: int) -> float:
    """Peak resident set size so far, in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return float(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def zipped_size(path: Path) -> int:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(path, "bootstrap")
    return len(buffer.getvalue())


def fixture(product) -> tuple[dict[str, str], dict[str, dict]]:
    """The functions' environment against the stand-in, and for each binary an event that makes
    one Glue call on its success path (cancel finds the run already ended); hello world answers
    at once."""
    product.create_job("bench-job", ExecutionProperty={"MaxConcurrentRuns": 1000})
    product.script("bench-job", {"starting": 0, "running": 0, "end": "SUCCEEDED"})
    finished = "bench-job/" + product.glue.start_job_run(JobName="bench-job")["JobRunId"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": product.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        # Lambda's provided.al2023 keeps its roots in one bundle file; point the SDK's
        # native-roots loader at this machine's bundle, not at a directory of 150 files.
        "SSL_CERT_FILE": os.environ.get("POLYSYNC_BENCH_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"),
    }
    events = {
        BASELINE: {"hello": "world"},
        SDK_BASELINE: {"runId": finished},
        "polysync-glue-poll": {"runId": finished},
        "polysync-glue-start": {"job": {"externalId": "bench-job"}},
        "polysync-glue-cancel": {"runId": finished},
        "polysync-glue-discover": {},
    }
    return env, events


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    from harness import LocalProduct  # the stand-in, for the functions' Glue call

    with LocalProduct() as product:
        env, events = fixture(product)
        names = list(BINARIES)
        samples: dict[str, list] = {name: [] for name in names}
        # Round-robin in a shuffled order: a busy moment of this noisy machine falls on every
        # binary alike, so the ratios hold even when the absolute times wander.
        for _ in range(rounds):
            random.shuffle(names)
            for name in names:
                samples[name].append(measure(RELEASE / name, events[name], env))
        results = {
            name: {key: statistics.median(s[key] for s in samples[name]) for key in samples[name][0]}
            for name in BINARIES
        }

    base, sdk = results[BASELINE], results[SDK_BASELINE]
    print(f"median of {rounds} cold starts per binary ({RELEASE}); x hello, x sdk: against the two baselines")
    print(
        f"{'binary':<30} {'init ms':>8} {'x hello':>8} {'RSS at init':>12} {'peak RSS KiB':>13} {'x hello':>8} {'x sdk':>6} "
        f"{'1st inv ms':>11} {'warm ms':>8} {'1st/warm':>9}"
    )
    for name, r in results.items():
        print(
            f"{name:<30} {r['init'] * 1000:8.2f} {r['init'] / base['init']:8.2f} {r['init_rss_kib']:12.0f} {r['rss_kib']:13.0f} "
            f"{r['rss_kib'] / base['rss_kib']:8.2f} {r['rss_kib'] / sdk['rss_kib']:6.2f} "
            f"{r['first'] * 1000:11.2f} {r['warm'] * 1000:8.2f} {r['first'] / r['warm']:9.2f}"
        )
    build = ROOT / ".aws-sam" / "build"
    if build.exists():
        print("\nzipped arm64 bootstrap (sam build):")
        for function in sorted(build.glob("*Function/bootstrap")):
            print(f"{function.parent.name:<20} {zipped_size(function) / 1_000_000:.2f} MB ({function.stat().st_size / 1_000_000:.2f} MB unzipped)")


if __name__ == "__main__":
    main()
