"""Replays the cancels that failed after Lambda's retries: each message of the cancel failure
queue (template.yaml, CancelFailuresQueue; its URL is the stack output CancelFailuresQueueUrl) is
Lambda's on-failure record of an asynchronous invocation, whose `requestPayload` is the
EventBridge event. Each is handed again to the cancel function, synchronously, and deleted once
cancel answers without an error; a message whose cancel fails again stays for the next replay.

    python tools/replay_cancel_failures.py QUEUE_URL CANCEL_FUNCTION [--endpoint-url URL]

Needs boto3 and credentials allowed sqs:ReceiveMessage/DeleteMessage on the queue and
lambda:InvokeFunction on the function.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import boto3


def replay(sqs: Any, lambda_: Any, queue_url: str, function: str) -> dict[str, int]:
    """Replays every message in the queue once; returns how many were stopped, kept or unreadable."""
    counts = {"replayed": 0, "failed again": 0, "unreadable": 0}
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=300).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            return counts
        for message in fresh:
            seen.add(message["MessageId"])
            try:
                event = json.loads(message["Body"])["requestPayload"]
            except (ValueError, KeyError, TypeError):
                counts["unreadable"] += 1
                print(f"{message['MessageId']}: not a Lambda on-failure record; left in the queue", file=sys.stderr)
                continue
            answer = lambda_.invoke(FunctionName=function, Payload=json.dumps(event))
            body = answer["Payload"].read().decode()
            if "FunctionError" in answer:
                counts["failed again"] += 1
                print(f"{message['MessageId']}: cancel failed again, kept: {body[:300]}", file=sys.stderr)
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            counts["replayed"] += 1
            print(f"{message['MessageId']}: {body}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queue_url")
    parser.add_argument("function", help="the cancel function's name or ARN (stack output CancelFunctionArn)")
    parser.add_argument("--endpoint-url", help="a local stand-in instead of AWS")
    args = parser.parse_args()
    session = boto3.session.Session()
    sqs = session.client("sqs", endpoint_url=args.endpoint_url)
    lambda_ = session.client("lambda", endpoint_url=args.endpoint_url)
    counts = replay(sqs, lambda_, args.queue_url, args.function)
    print(json.dumps(counts))
    sys.exit(1 if counts["failed again"] or counts["unreadable"] else 0)


if __name__ == "__main__":
    main()
