"""Proof of steadiness: the end-to-end suite run N times while a CPU hog keeps both cores busy,
and the tally. No e2e test races the clock, so every run should pass however loaded the machine.

    .venv/bin/python standins/steadiness.py [runs] [--hogs N] [--workers N]

Each run is `python -m pytest tests/e2e -q -n WORKERS`; the hogs are busy loops, one per core
by default, started before the first run and stopped after the last (or when this ends). The
figures go to RELIABILITY.md, with this command.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

from harness import ROOT


def _hog() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=int, nargs="?", default=10)
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2, help="busy loops beside the suite")
    parser.add_argument("--workers", type=int, default=4, help="pytest-xdist workers")
    args = parser.parse_args()
    hogs = [multiprocessing.Process(target=_hog, daemon=True) for _ in range(args.hogs)]
    for hog in hogs:
        hog.start()
    results = []
    try:
        for run in range(1, args.runs + 1):
            began = time.monotonic()
            answer = subprocess.run([sys.executable, "-m", "pytest", "tests/e2e", "-q", "-n", str(args.workers),
                                     "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
            summary = answer.stdout.strip().splitlines()[-1] if answer.stdout.strip() else "(no output)"
            results.append(answer.returncode == 0)
            print(f"run {run}/{args.runs}: {'green' if answer.returncode == 0 else 'RED'} in "
                  f"{time.monotonic() - began:.0f} s: {summary}", flush=True)
            if answer.returncode != 0:
                print(answer.stdout[-4000:], flush=True)
    finally:
        for hog in hogs:
            hog.terminate()
    print(f"steadiness: {sum(results)}/{len(results)} runs green with {args.hogs} CPU hog(s)")


if __name__ == "__main__":
    main()
