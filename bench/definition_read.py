"""What the definition read (GetJob) costs a start: the release start binary, warm, through a
local Lambda Runtime API against the Glue stand-in, starting runs of a Spark job with a worker
pair (StartJobRun after GetJob, as every sized start now does) and without one (StartJobRun
alone). Prints the median and 90th percentile of each and the difference.

    .venv/bin/python bench/definition_read.py [STARTS]     (after cargo build --release --bins)
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "standins"))
sys.path.insert(0, str(ROOT / "bench"))

from cold_start import RELEASE, fixture, invoke, started  # noqa: E402
from harness import LocalProduct  # noqa: E402


def main() -> None:
    starts = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    binary = RELEASE / "polysync-glue-start"
    with LocalProduct() as product:
        env, _ = fixture(product)
        events = {
            "without a pair (no GetJob)": {"job": {"externalId": "bench-job"}},
            "with a pair (GetJob first)": {"job": {"externalId": "bench-job",
                                                   "attributes": {"glueWorkerType": "G.2X", "glueNumberOfWorkers": 4}}},
        }
        timings = {name: [] for name in events}
        with started(binary, env) as (api, _, _):
            invoke(api, "warm-up", events["without a pair (no GetJob)"], binary)
            # Interleaved, so the stand-in's drift over the run weighs on both alike.
            for index in range(starts):
                for number, (name, event) in enumerate(events.items()):
                    # The request id goes into a URL path: no spaces.
                    seconds, _ = invoke(api, f"{index}-{number}", event, binary)
                    timings[name].append(seconds * 1000)
    for name, values in timings.items():
        values.sort()
        print(f"{name:<28} median {statistics.median(values):6.2f} ms   p90 {values[int(len(values) * 0.9)]:6.2f} ms")
    medians = [statistics.median(v) for v in timings.values()]
    print(f"the definition read adds {medians[1] - medians[0]:.2f} ms at the median ({starts} starts each)")


if __name__ == "__main__":
    main()
