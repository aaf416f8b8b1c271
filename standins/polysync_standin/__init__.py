"""Polysync's local AWS stand-in, for tests and the demo only: the moto server, every service
moto has, with a small extension for what moto 5.2 lacks, one module per concern:

- `glue`: Glue runs that follow a script or a test's explicit end, Glue's retry attempts, driver
  logs, BatchStopJobRun, and Glue's rules (sizing, run options, MaxConcurrentRuns, the account's
  quota, the request rate, job run queuing), each with its source;
- `stepfunctions`: the patches of moto's interpreter (child executions' parameter names, Lambda's
  error names, Execution.RedriveCount, a closed task token refused), each with its source;
- `local_lambda`: Lambda's Invoke API in front of the real binaries, synchronous and
  asynchronous, with Lambda's own faults (a crash, a timeout, throttling, an error reported
  while the function still runs) and concurrency limits;
- `eventbridge`: Glue's "Glue Job State Change" events delivered as EventBridge delivers them
  (late, twice or never), each delivery recorded;
- `control`: the control API a test drives it with (scripts, explicit run ends, gates, faults,
  limits, records);
- `state`: the one state object all of them share;
- `server`: the WSGI middleware in front of moto, and `main` (`python -m polysync_standin`).
"""
