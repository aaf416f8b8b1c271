"""template.yaml as CloudFormation receives it: SAM's transform (samtranslator, from the pinned
aws-sam-cli in .venv-sam) adds what the YAML does not show, so these checks read its output."""

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
CONTRACT_VARIABLES = {
    "POLYSYNC_GLUE_WORKER_TYPE",
    "POLYSYNC_GLUE_NUMBER_OF_WORKERS",
    "POLYSYNC_GLUE_VERSION",
    "POLYSYNC_GLUE_TIMEOUT_MINUTES",
    "POLYSYNC_POLL_MIN_SECONDS",
    "POLYSYNC_POLL_MAX_SECONDS",
    "POLYSYNC_GLUE_ALLOW_CODE_ARGUMENTS",
    "POLYSYNC_GLUE_EXECUTION_TAG",
    "POLYSYNC_GLUE_JOB_NAME_PREFIX",
    "POLYSYNC_GLUE_EXECUTION_CLASS",
    "POLYSYNC_GLUE_JOB_RUN_QUEUING",
    "POLYSYNC_GLUE_NOTIFY_DELAY_AFTER_MINUTES",
    "POLYSYNC_GLUE_SECURITY_CONFIGURATION",
    "POLYSYNC_WAKE_TABLE",
}


@cache
def transformed():
    assert SAM_PYTHON.exists(), f"{SAM_PYTHON} is missing: run scripts/setup"
    answer = subprocess.run(
        [str(SAM_PYTHON), str(ROOT / "tests" / "iac" / "sam_transform.py"), str(ROOT / "template.yaml")],
        capture_output=True, text=True, check=True, env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    return json.loads(answer.stdout)


def of_type(kind):
    return {name: r for name, r in transformed()["Resources"].items() if r["Type"] == kind}


def test_the_schedule_has_no_fixed_name_so_a_second_stack_can_be_created():
    # SAM names a ScheduleV2 after its resource unless told not to (aws/serverless-application-model#3109);
    # a Name is unique per account and region, so a second stack would fail to create.
    schedules = of_type("AWS::Scheduler::Schedule")
    assert schedules, "the example schedule is in the transformed template"
    for name, schedule in schedules.items():
        assert "Name" not in schedule["Properties"], name


def test_every_function_gets_every_contract_variable_arm64_and_x_ray():
    functions = of_type("AWS::Lambda::Function")
    assert len(functions) == 5
    for name, function in functions.items():
        properties = function["Properties"]
        assert set(properties["Environment"]["Variables"]) == CONTRACT_VARIABLES, name
        assert properties["Architectures"] == ["arm64"], name
        assert properties["Runtime"] == "provided.al2023", name
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        assert properties["LoggingConfig"]["LogFormat"] == "JSON", name


def statements(policy):
    """A policy's statements, each branch of a conditional one (Fn::If) included."""
    for statement in policy["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement:
            yield from (branch for branch in statement["Fn::If"][1:] if "Action" in branch)
        else:
            yield statement


def test_the_roles_sam_generates_grant_no_wildcard_glue_action():
    roles = of_type("AWS::IAM::Role")
    for name, role in roles.items():
        for policy in role["Properties"].get("Policies", []):
            for statement in statements(policy):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert not any(a == "*" or a.endswith(":*") for a in actions), (name, actions)
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            # Only the logging and tracing policies SAM adds; nothing that reaches Glue.
            assert arn.endswith(("AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess")), arn


def _pattern(parameter):
    return re.compile(transformed()["Parameters"][parameter]["AllowedPattern"])


def test_parameter_patterns_take_what_the_functions_take():
    # CloudFormation matches AllowedPattern against the whole value.
    timeout = _pattern("PlatformTimeoutMinutes")
    for good in ["", "1", "60", "9999", "10000", "10079", "10080"]:
        assert timeout.fullmatch(good), good
    for bad in ["0", "10081", "10090", "99999", "-1", "1.5"]:
        assert not timeout.fullmatch(bad), bad
    workers = _pattern("PlatformNumberOfWorkers")
    for good in ["", "2", "9", "10", "100"]:
        assert workers.fullmatch(good), good
    for bad in ["0", "1", "01", "-2"]:
        assert not workers.fullmatch(bad), bad


def test_a_cancel_that_fails_after_lambda_s_retries_lands_in_an_encrypted_queue_with_an_alarm():
    configs = {c["Properties"]["FunctionName"]["Ref"]: c for c in of_type("AWS::Lambda::EventInvokeConfig").values()}
    properties = configs["CancelFunction"]["Properties"]
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["CancelFailuresQueue", "Arn"]}
    queue = transformed()["Resources"]["CancelFailuresQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 1209600
    # SAM grants the function sqs:SendMessage on that queue alone.
    role = transformed()["Resources"]["CancelFunctionRole"]["Properties"]
    sends = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if s["Action"] == "sqs:SendMessage"]
    assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": ["CancelFailuresQueue", "Arn"]}]
    alarm = of_type("AWS::CloudWatch::Alarm")["CancelFailuresAlarm"]
    assert alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Properties"]["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["CancelFailuresQueue", "QueueName"]}}]
    assert alarm["Properties"]["Threshold"] == 0


def test_a_start_the_schedule_could_not_make_lands_in_an_encrypted_queue_with_an_alarm():
    [schedule] = of_type("AWS::Scheduler::Schedule").values()
    target = schedule["Properties"]["Target"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ScheduleFailuresQueue", "Arn"]}}
    queue = transformed()["Resources"]["ScheduleFailuresQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    # Scheduler sends to the dead-letter queue with the schedule's own role: SAM grants it
    # sqs:SendMessage on that queue alone.
    role_name = target["RoleArn"]["Fn::GetAtt"][0]
    role = transformed()["Resources"][role_name]["Properties"]
    sends = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if s["Action"] == "sqs:SendMessage"]
    assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": ["ScheduleFailuresQueue", "Arn"]}]
    alarm = of_type("AWS::CloudWatch::Alarm")["ScheduleFailuresAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and alarm["Threshold"] == 0
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ScheduleFailuresQueue", "QueueName"]}}]


def test_the_state_machine_publishes_to_the_notification_topic_s_own_arn():
    # A NotificationTopicArn in another account or Region is published to where it is: the
    # statement names the topic's ARN as given, not one rebuilt in the stack's account.
    role = transformed()["Resources"]["GlueJobStateMachineRole"]["Properties"]
    publishes = [s for p in role["Policies"] for s in statements(p) if "sns:Publish" in _actions(s)]
    topic = {"Fn::If": ["CreatesNotificationTopic", {"Ref": "NotificationTopic"}, {"Ref": "NotificationTopicArn"}]}
    assert [s["Resource"] for s in publishes] == [topic], publishes


def _actions(statement):
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else action


def test_cancel_outlasts_a_start_still_running_when_its_execution_was_aborted():
    functions = of_type("AWS::Lambda::Function")
    start = functions["StartFunction"]["Properties"]["Timeout"]
    cancel = functions["CancelFunction"]["Properties"]["Timeout"]
    # cancel looks for the run until start's timeout has passed (shared/src/cancel.rs).
    assert cancel >= start + 30, (start, cancel)


def test_discover_has_room_for_a_page_of_large_job_definitions():
    # A page of 100 visual jobs (~200 KB each) peaks at 124 MiB (BENCHMARKS.md).
    discover = of_type("AWS::Lambda::Function")["DiscoverFunction"]["Properties"]
    assert discover["MemorySize"] >= 512


def test_failed_and_timed_out_executions_alarm_on_the_topic_with_a_key_cloudwatch_may_use():
    resources = transformed()["Resources"]
    alarms = {a["Properties"]["MetricName"]: a["Properties"] for a in of_type("AWS::CloudWatch::Alarm").values()}
    topic = {"Fn::If": ["CreatesNotificationTopic", {"Ref": "NotificationTopic"}, {"Ref": "NotificationTopicArn"}]}
    key = resources["NotificationKey"]["Properties"]
    [cloudwatch] = [s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    # The documented form, unconditioned: a condition the request never carries would deny
    # every alarm's message (AWS Knowledge Center, encrypted SNS topic for CloudWatch alarms).
    assert "Condition" not in cloudwatch, cloudwatch
    for metric in ["ExecutionsFailed", "ExecutionsTimedOut"]:
        alarm = alarms[metric]
        assert alarm["Namespace"] == "AWS/States"
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "GlueJobStateMachine"}}]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == [topic]
    # The topic uses the key (a CloudWatch alarm cannot publish to one under alias/aws/sns), which
    # rotates, and the state machine's role may use it to publish.
    assert resources["NotificationTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "NotificationKey"}
    assert key["EnableKeyRotation"] is True
    role = resources["GlueJobStateMachineRole"]["Properties"]
    on_key = [s for p in role["Policies"] for s in statements(p)
              if s.get("Resource") == {"Fn::GetAtt": ["NotificationKey", "Arn"]}]
    assert [sorted(s["Action"]) for s in on_key] == [["kms:Decrypt", "kms:GenerateDataKey*"]]


def test_glue_s_run_events_reach_the_wake_which_keeps_tokens_in_an_encrypted_table_with_a_time_to_live():
    resources = transformed()["Resources"]
    [rule] = [r["Properties"] for r in of_type("AWS::Events::Rule").values()
              if r["Properties"]["EventPattern"]["source"] == ["aws.glue"]]
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["Glue Job State Change"]
    # The states Glue sends an event for (ERROR and EXPIRED send none: the loop sees them).
    assert sorted(pattern["detail"]["state"]) == ["FAILED", "STOPPED", "SUCCEEDED", "TIMEOUT"]
    assert pattern["detail"]["jobName"] == {
        "Fn::If": ["HasJobNamePrefix", [{"prefix": {"Ref": "GlueJobNamePrefix"}}], {"Ref": "AWS::NoValue"}]}
    assert [t["Arn"] for t in rule["Targets"]] == [{"Fn::GetAtt": ["WakeFunction", "Arn"]}]
    table = resources["WakeTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["KeySchema"] == [{"AttributeName": "runId", "KeyType": "HASH"}]
    # The names the wake's store writes (shared/src/aws/token_store.rs).
    store = (ROOT / "shared" / "src" / "aws" / "token_store.rs").read_text()
    assert 'RUN_ID: &str = "runId"' in store and 'EXPIRES_AT: &str = "expiresAt"' in store
    machine = resources["GlueJobStateMachine"]["Properties"]
    assert machine["DefinitionSubstitutions"]["WakeFunctionArn"] == {"Fn::GetAtt": ["WakeFunction", "Arn"]}
