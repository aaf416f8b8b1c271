"""Discovery of 10,000 Glue jobs: our discover binary (release build, through a local Lambda
Runtime API, following nextToken to the end) against a boto3 script making the same Glue calls
(GetJobs, MaxResults=100) and the same mapping, on the same Glue stand-in. Prints wall time,
Glue calls and peak memory of each, and the ratio.

    .venv/bin/python bench/discovery.py [JOBS]       (after cargo build --release --bins)

With --visual, a page of 100 Glue Studio visual jobs instead, each carrying about 200 KB of
CodeGenConfigurationNodes, which GetJobs returns in full: the discover binary's peak memory
reading it, against the memory the template gives the function.

    .venv/bin/python bench/discovery.py --visual [JOBS [NODE_KB]]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cold_start import RELEASE, invoke, started, vm_hwm
from harness import REGION, LocalProduct

ROOT = Path(__file__).resolve().parent.parent

BASELINE_SCRIPT = r'''
import json, resource, sys, time
import boto3
SYSTEM = set(json.loads(sys.argv[2]))
glue = boto3.client("glue", endpoint_url=sys.argv[1], region_name="us-east-1",
                    aws_access_key_id="test", aws_secret_access_key="test")
began = time.perf_counter()
jobs, token, calls = [], None, 0
while True:
    page = glue.get_jobs(MaxResults=100, **({"NextToken": token} if token else {}))
    calls += 1
    for job in page["Jobs"]:
        jobs.append({"externalId": job["Name"], "jobType": "AWS Glue Job",
                     "parameters": sorted(({"name": k[2:] if k.startswith("--") else k, "direction": "Input", "value": v}
                                           for k, v in job.get("DefaultArguments", {}).items() if k not in SYSTEM),
                                          key=lambda p: p["name"])})
    token = page.get("NextToken")
    if not token:
        break
json.dumps(jobs)
print(json.dumps({"seconds": time.perf_counter() - began, "jobs": len(jobs), "glue_calls": calls,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
'''

SYSTEM_ARGUMENTS = ["--TempDir", "--enable-metrics", "--job-bookmark-option", "--job-language"]


def create_jobs(product: LocalProduct, count: int) -> None:
    def create(index: int) -> None:
        product.create_job(
            f"discover-{index:05d}",
            WorkerType="G.1X",
            NumberOfWorkers=2 + index % 8,
            DefaultArguments={
                "--TempDir": "s3://tmp/",
                "--enable-metrics": "true",
                "--run_date": "2026-01-01",
                "--table": f"table_{index}",
            },
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(count)))


def visual_nodes(index: int, kilobytes: int) -> dict:
    """A visual job's graph: ApplyMapping nodes of 100 column mappings each (about 12 KB a node),
    chained from one S3 source, until the graph is `kilobytes` of JSON."""
    nodes: dict[str, dict] = {"node-0": {"S3CsvSource": {"Name": "source", "Paths": [f"s3://lake/in/{index}/"],
                                        "Separator": "comma", "QuoteChar": "quote"}}}
    while len(json.dumps(nodes)) < kilobytes * 1000:
        number = len(nodes)
        nodes[f"node-{number}"] = {"ApplyMapping": {
            "Name": f"map-{number}", "Inputs": [f"node-{number - 1}"],
            "Mapping": [{"ToKey": f"column_{c}_renamed", "FromPath": [f"column_{c}"], "FromType": "string",
                         "ToType": "string", "Dropped": False} for c in range(100)],
        }}
    return nodes


def create_visual_jobs(product: LocalProduct, count: int, kilobytes: int) -> None:
    def create(index: int) -> None:
        product.create_job(f"visual-{index:03d}", WorkerType="G.1X", NumberOfWorkers=2,
                           CodeGenConfigurationNodes=visual_nodes(index, kilobytes))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(count)))


def run_ours(product: LocalProduct) -> dict:
    env = {
        "AWS_REGION": REGION, "AWS_ENDPOINT_URL": product.url, "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test", "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "1",
    }
    binary = RELEASE / "polysync-glue-discover"
    calls_before = len(product.requests("GetJobs"))
    with started(binary, env) as (api, process, _):
        began = time.perf_counter()
        seen, token, pages = [], None, 0
        while True:
            _, body = invoke(api, f"page-{pages}", {"nextToken": token}, binary, timeout=120)
            page = json.loads(body)
            seen += [job["externalId"] for job in page["jobs"]]
            pages += 1
            token = page["nextToken"]
            if token is None:
                break
        seconds = time.perf_counter() - began
        rss = vm_hwm(process.pid)
    assert len(seen) == len(set(seen)), "every job once"
    return {"seconds": seconds, "jobs": len(seen), "pages": pages, "rss_kib": rss,
            "glue_calls": len(product.requests("GetJobs")) - calls_before}


def run_baseline(product: LocalProduct) -> dict:
    answer = subprocess.run(
        [sys.executable, "-c", BASELINE_SCRIPT, product.url, json.dumps(SYSTEM_ARGUMENTS)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(answer.stdout)


def main_visual(count: int, kilobytes: int) -> None:
    with LocalProduct() as product:
        create_visual_jobs(product, count, kilobytes)
        one = product.glue.get_job(JobName="visual-000")["Job"]
        print(f"created {count} visual jobs of {len(json.dumps(one['CodeGenConfigurationNodes'])) / 1000:.0f} KB "
              f"of CodeGenConfigurationNodes each")
        runs = [run_ours(product) for _ in range(3)]
    for result in runs:
        assert result["jobs"] == count
    peak = max(r["rss_kib"] for r in runs) / 1024
    print(f"ours   : {count} jobs in {runs[0]['pages']} page(s), Glue pages of 100; peak RSS "
          f"{', '.join('%.1f' % (r['rss_kib'] / 1024) for r in runs)} MiB; worst {peak:.1f} MiB")


def main() -> None:
    if sys.argv[1:2] == ["--visual"]:
        arguments = [int(a) for a in sys.argv[2:]]
        return main_visual(*(arguments + [100, 200][len(arguments):]))
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with LocalProduct() as product:
        began = time.perf_counter()
        create_jobs(product, count)
        print(f"created {count} jobs in the stand-in in {time.perf_counter() - began:.1f} s")
        # Alternate, best of three each: the stand-in's own speed varies between runs.
        ours, baseline = [], []
        for _ in range(3):
            ours.append(run_ours(product))
            baseline.append(run_baseline(product))
    def seconds_of(results):
        return ", ".join(f"{r['seconds']:.2f}" for r in results)

    best_ours = min(ours, key=lambda r: r["seconds"])
    best_base = min(baseline, key=lambda r: r["seconds"])
    assert best_ours["jobs"] == count and best_base["jobs"] == count
    print(f"ours   : {best_ours['seconds']:.2f} s for {best_ours['jobs']} jobs in {best_ours['pages']} pages, "
          f"{best_ours['glue_calls']} GetJobs calls, peak RSS {best_ours['rss_kib'] / 1024:.1f} MiB "
          f"(runs: {seconds_of(ours)} s)")
    print(f"boto3  : {best_base['seconds']:.2f} s for {best_base['jobs']} jobs, {best_base['glue_calls']} GetJobs "
          f"calls, peak RSS {best_base['rss_kib'] / 1024:.1f} MiB (runs: {seconds_of(baseline)} s)")
    print(f"ratio ours / boto3: {best_ours['seconds'] / best_base['seconds']:.2f} (time), "
          f"{best_ours['rss_kib'] / best_base['rss_kib']:.2f} (peak memory)")


if __name__ == "__main__":
    main()
