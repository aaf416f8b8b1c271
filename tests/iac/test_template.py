"""template.yaml and the ASL read as data: the wiring SAM and IAM rely on."""

import json
import re
from pathlib import Path

import yaml

from harness import named_states

ROOT = Path(__file__).resolve().parents[2]
BINARIES = {
    "StartFunction": "polysync-glue-start",
    "PollFunction": "polysync-glue-poll",
    "CancelFunction": "polysync-glue-cancel",
    "DiscoverFunction": "polysync-glue-discover",
    "WakeFunction": "polysync-glue-wake",
}
# Glue actions that IAM authorizes only on "*" (no resource-level permission).
GLUE_ACTIONS_WITHOUT_RESOURCES = {"glue:GetJobs"}
# Step Functions' task-token actions, which take no resource: the token names the task.
TASK_TOKEN_ACTIONS = {"states:SendTaskSuccess"}


class CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !GetAtt, !Sub ... as {"Fn": value}, enough to inspect the template."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


CloudFormationLoader.add_multi_constructor("!", _tag)


def asl_states():
    """Every state of the ASL by name, those of its Parallel branches included."""
    asl = json.loads((ROOT / "statemachine" / "glue-job.asl.json").read_text())
    return dict(named_states(asl["States"]))


def template():
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=CloudFormationLoader)


def resources(kind):
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}


def test_every_asl_placeholder_has_a_substitution_and_the_other_way_round():
    asl_text = (ROOT / "statemachine" / "glue-job.asl.json").read_text()
    placeholders = set(re.findall(r"\$\{([^}]+)\}", asl_text))
    machine = resources("AWS::Serverless::StateMachine")["GlueJobStateMachine"]["Properties"]
    assert machine["DefinitionUri"] == "statemachine/glue-job.asl.json"
    assert placeholders == set(machine["DefinitionSubstitutions"])
    assert placeholders == {"StartFunctionArn", "PollFunctionArn", "CancelFunctionArn", "WakeFunctionArn", "NotificationTopicArn"}


def test_the_state_machine_may_publish_to_its_topic_only():
    machine = template()["Resources"]["GlueJobStateMachine"]["Properties"]
    publishes = [s for s in _statements(machine["Policies"]) if s["Action"] in ("sns:Publish", ["sns:Publish"])]
    # The topic's own ARN: the stack's topic, or NotificationTopicArn wherever it is.
    assert [s["Resource"] for s in publishes] == [
        {"If": ["CreatesNotificationTopic", {"Ref": "NotificationTopic"}, {"Ref": "NotificationTopicArn"}]}
    ]
    topic_resource = template()["Resources"]["NotificationTopic"]
    assert topic_resource["Properties"]["KmsMasterKeyId"] == {"Ref": "NotificationKey"}, "encrypted at rest"
    publishers = [s for s in asl_states().values() if s.get("Resource") == "arn:aws:states:::sns:publish"]
    # NotifyEnding, NotifyGaveUp, NotifyLate.
    assert len(publishers) == 3
    for state in publishers:
        assert state["Parameters"]["TopicArn"] == "${NotificationTopicArn}"
        # A message that cannot be sent never changes how the execution ends.
        assert [c["ErrorEquals"] for c in state["Catch"]] == [["States.ALL"]]
        assert state["Catch"][0]["Next"] == state["Next"]
        assert state["ResultPath"] is None


def test_the_asl_uses_jsonpath_and_names_the_contract_fail_states():
    asl = json.loads((ROOT / "statemachine" / "glue-job.asl.json").read_text())
    assert asl["QueryLanguage"] == "JSONPath"
    errors = {s.get("Error") for s in asl_states().values() if s["Type"] == "Fail"}
    assert {"Polysync.JobFailed", "Polysync.JobCancelled", "Polysync.JobEndedUnknown"} <= errors
    never_retried = {"Polysync.InvalidInput", "Polysync.ForbiddenArgument", "Glue.AccessDeniedException",
                     "Glue.EntityNotFoundException", "States.ALL"}
    for name, state in asl_states().items():
        for retrier in state.get("Retry", []):
            assert not never_retried & set(retrier["ErrorEquals"]), name
            assert retrier["BackoffRate"] > 1, name
            # A start that may still be running is retried only after a fixed interval that
            # jitter would shorten (shared/src/start.rs proves it); every other retrier jitters.
            may_still_run = "Lambda.ServiceException" in retrier["ErrorEquals"]
            expected = "NONE" if name in {"Start", "StartAgain"} and may_still_run else "FULL"
            assert retrier["JitterStrategy"] == expected, name


def test_each_function_builds_its_contract_binary_for_arm64_al2023():
    globals_ = template()["Globals"]["Function"]
    assert globals_["Runtime"] == "provided.al2023"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Tracing"] == "Active"
    functions = resources("AWS::Serverless::Function")
    assert set(functions) == set(BINARIES)
    for name, function in functions.items():
        assert function["Metadata"]["BuildMethod"] == "rust-cargolambda"
        assert function["Metadata"]["BuildProperties"]["Binary"] == BINARIES[name]
        assert function["Properties"]["LoggingConfig"]["LogFormat"] == "JSON"


def _statements(policies):
    """Each statement of inline policies, each branch of a conditional one (!If) included."""
    for policy in policies:
        for statement in policy.get("Statement", []):
            if "If" in statement:
                yield from (branch for branch in statement["If"][1:] if "Action" in branch)
            else:
                yield statement


def test_iam_is_least_privilege():
    job_arn = {"Sub": "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:job/${GlueJobNamePrefix}*"}
    # The executions of this stack's state machine only, named as GlueJobStateMachine is: the
    # StateMachineName parameter, else STACKNAME-glue-job.
    name = resources("AWS::Serverless::StateMachine")["GlueJobStateMachine"]["Properties"]["Name"]
    assert name == {"If": ["HasStateMachineName", {"Ref": "StateMachineName"}, {"Sub": "${AWS::StackName}-glue-job"}]}
    states_arn = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"

    def either_name(form):
        return {"If": ["HasStateMachineName", {"Sub": states_arn + form.format("${StateMachineName}")},
                       {"Sub": states_arn + form.format("${AWS::StackName}-glue-job")}]}

    executions_arn = either_name("execution:{}:*")
    logs_arn = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
    glue_logs = {"Sub": logs_arn + "/aws-glue/*"}
    custom_logs = {"Sub": logs_arn + "${GlueCustomLogGroup}*"}
    for name, function in resources("AWS::Serverless::Function").items():
        for statement in _statements(function["Properties"]["Policies"]):
            actions = statement["Action"]
            assert all(a != "*" and not a.endswith(":*") for a in actions), name
            if set(actions) <= GLUE_ACTIONS_WITHOUT_RESOURCES | TASK_TOKEN_ACTIONS:
                assert statement["Resource"] == "*"
                assert not set(actions) & TASK_TOKEN_ACTIONS or name == "WakeFunction", name
            elif all(a.startswith("dynamodb:") for a in actions):
                # The wake alone, its own table, two item operations.
                assert name == "WakeFunction", name
                assert sorted(actions) == ["dynamodb:DeleteItem", "dynamodb:PutItem"]
                assert statement["Resource"] == {"GetAtt": "WakeTable.Arn"}
            elif all(a.startswith("states:") for a in actions):
                assert statement["Resource"] == executions_arn, name
            elif all(a.startswith("logs:") for a in actions):
                # Poll reads failed runs' logs in Glue's groups, and the custom one if set.
                assert name == "PollFunction" and actions == ["logs:GetLogEvents"], name
                assert statement["Resource"] == {"If": ["HasCustomLogGroup", [glue_logs, custom_logs], glue_logs]}
            else:
                assert statement["Resource"] == job_arn, name
    # Poll reads runs, and a job definition's MaxRetries when its event does not carry them;
    # it never writes.
    poll = resources("AWS::Serverless::Function")["PollFunction"]["Properties"]["Policies"]
    poll_glue = {a for st in _statements(poll) for a in st["Action"] if a.startswith("glue:")}
    assert poll_glue == {"glue:GetJob", "glue:GetJobRun", "glue:GetJobRuns"}
    machine = resources("AWS::Serverless::StateMachine")["GlueJobStateMachine"]["Properties"]
    # Child executions: this state machine only, and Step Functions' own rule for .sync.
    machine_arn = either_name("stateMachine:{}")
    sync_rule = {"Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:"
                        "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"}
    scoped = {
        ("states:StartExecution",): machine_arn,
        ("states:DescribeExecution", "states:StopExecution"): executions_arn,
        ("events:PutTargets", "events:PutRule", "events:DescribeRule"): sync_rule,
        # The stack's notification topic's key, to publish to the topic.
        ("kms:Decrypt", "kms:GenerateDataKey*"): {"GetAtt": "NotificationKey.Arn"},
        # The topic itself, by its own ARN (another account's or Region's, when given).
        ("sns:Publish",): {"If": ["CreatesNotificationTopic", {"Ref": "NotificationTopic"}, {"Ref": "NotificationTopicArn"}]},
    }
    seen = set()
    for statement in _statements(machine["Policies"]):
        actions = statement["Action"]
        actions = tuple(actions) if isinstance(actions, list) else (actions,)
        assert all(a != "*" and not a.endswith(":*") for a in actions)
        if actions in scoped:
            assert statement["Resource"] == scoped[actions], actions
            seen.add(actions)
        else:
            assert all(a.startswith("logs:") for a in actions), actions
    assert seen == set(scoped)


def test_logs_are_kept_for_a_while_and_execution_data_is_not_logged():
    groups = resources("AWS::Logs::LogGroup")
    assert len(groups) == 6
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups.values())
    logging = resources("AWS::Serverless::StateMachine")["GlueJobStateMachine"]["Properties"]["Logging"]
    assert logging["IncludeExecutionData"] is False


def test_aborted_executions_cancel_their_run():
    event = resources("AWS::Serverless::Function")["CancelFunction"]["Properties"]["Events"]["ExecutionEnded"]
    pattern = event["Properties"]["Pattern"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert set(pattern["detail"]["status"]) == {"ABORTED", "TIMED_OUT", "FAILED"}


def test_the_start_function_times_out_when_its_send_window_assumes():
    # shared/src/start.rs START_FUNCTION_TIMEOUT: an invocation sends StartJobRun only while at
    # least 60 - 20 s of it remain, and the Start task's retry after a start that may still run
    # waits out that window; a different timeout would void the reasoning.
    assert template()["Globals"]["Function"]["Timeout"] == 60
    start = resources("AWS::Serverless::Function")["StartFunction"]["Properties"]
    assert "Timeout" not in start
    source = (ROOT / "shared" / "src" / "start.rs").read_text()
    assert "START_FUNCTION_TIMEOUT: Duration = Duration::from_secs(60);" in source


def test_a_stack_of_any_name_can_name_its_state_machine_within_80_characters():
    # Step Functions takes a state machine name of 1 to 80 characters; STACKNAME-glue-job passes
    # that past a 71-character stack name (CloudFormation allows 128), so the name can be given.
    parameter = template()["Parameters"]["StateMachineName"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.match("a" * 80) and not pattern.match("a" * 81)
    assert not pattern.match("has space") and pattern.match("")


def test_the_night_dashboard_is_json_once_substituted():
    body, variables = template()["Resources"]["NightDashboard"]["Properties"]["DashboardBody"]["Sub"]
    for name in [*variables, "AWS::Region"]:
        assert "${" + name + "}" in body, name
        body = body.replace("${" + name + "}", "x")
    assert "${" not in body
    widgets = json.loads(body)["widgets"]
    assert {w["properties"]["title"] for w in widgets} >= {"Executions by status", "Runs by outcome, all jobs",
                                                           "DPU-hours by job", "Alarms"}
    # Every alarm of the stack shows on the dashboard.
    alarm_arns = {v["GetAtt"] for v in variables.values() if isinstance(v, dict) and str(v.get("GetAtt")).endswith(".Arn")}
    assert alarm_arns == {f"{name}.Arn" for name in resources("AWS::CloudWatch::Alarm")}
