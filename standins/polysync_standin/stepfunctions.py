"""Patches of moto 5.2's Step Functions interpreter (its executions run the real ASL), each
restoring one rule of AWS that moto does not keep, with its source.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.exceptions import AWSError
from moto.stepfunctions.parser import models as sfn_parser_models
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sfn as sfn_service,
)
from moto.stepfunctions.parser.backend import execution_worker

from .state import STATE

# --- Child executions (startExecution.sync:2) speak the API's parameter names -------------------
#
# The ASL names StartExecution's parameters as the API does ("StateMachineArn", "Name", "Input")
# and reads its answers the same way ("ExecutionArn"; for .sync:2 the DescribeExecution answer,
# "Status", "Output", "Error", "Cause"): the documented Task state in "Manage AWS Step Functions
# Executions as an Integrated Service" (docs.aws.amazon.com/step-functions/latest/dg/
# connect-stepfunctions.html). moto 5.2's interpreter hands those names to boto3 unchanged, which
# wants `stateMachineArn` (botocore's model of StartExecution) and answers `executionArn`, so
# every nested execution failed with KeyError. The names are mapped here; nothing else changes.


def _api_name(key: str) -> str:
    return key[:1].upper() + key[1:]


def _boto_name(key: str) -> str:
    return key[:1].lower() + key[1:]


def _sfn_parameters(self: Any, parameters: dict, *args: Any, **kwargs: Any) -> None:
    _original_sfn_parameters(self, parameters, *args, **kwargs)
    for key in list(parameters):
        parameters[_boto_name(key)] = parameters.pop(key)


def _sfn_response(self: Any, response: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(response, dict):
        for key in list(response):
            response[_api_name(key)] = response.pop(key)


# --- Lambda's errors as Step Functions names them ------------------------------------------------
#
# "Lambda errors are reported as Lambda.<exception>" (ClientExecutionTimeoutException,
# ServiceException, AWSLambdaException, SdkClientException, TooManyRequestsException), and
# "unhandled errors in Lambda are reported as Lambda.Unknown. These include out-of-memory errors
# and function timeouts" (Step Functions developer guide, "Handle Lambda service exceptions",
# docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html). moto 5.2's
# StateTaskLambda names both "Exception", which no Retry of a real state machine matches, so a
# test against it would pass whatever the ASL retries.
UNKNOWN_CAUSE = "The cause could not be determined because Lambda did not return an error type."


def _lambda_failure(self: Any, env: Any, ex: Exception) -> Any:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    if isinstance(ex, ClientError):
        error = f"Lambda.{ex.response['Error']['Code']}"
        cause = ex.response["Error"].get("Message", "")
    elif isinstance(ex, lambda_eval_utils.LambdaFunctionErrorException):
        try:
            error = json.loads(ex.payload)["errorType"]
            cause = ex.payload
        except (ValueError, KeyError, TypeError):
            error = "Lambda.Unknown"
            cause = f"{UNKNOWN_CAUSE} Returned payload: {ex.payload}"
    else:
        return _original_lambda_failure(self, env, ex)
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.LambdaFunctionFailed,
        # moto's EventDetails is a total TypedDict of every kind of detail; an event has one.
        event_details=EventDetails(  # type: ignore[typeddict-item]
            lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
        ),
    )


# --- The context object has Execution.RedriveCount -----------------------------------------------
#
# Step Functions' context object has Execution.RedriveCount (0 until redriven: "Context object",
# Step Functions developer guide); moto has no RedriveExecution, so it is always 0 here.


def _execution_data(**fields: Any) -> dict[str, Any]:
    return {**fields, "RedriveCount": 0}


# --- A task token is closed once used, or once its execution stops ------------------------------
#
# SendTaskSuccess answers TaskTimedOut when "the task associated with the token has already been
# closed" (Step Functions API reference, SendTaskSuccess, Errors): once the task was sent its
# outcome, and once its execution is stopped. moto 5.2 keeps a used token in its pool and takes
# a second outcome for it, and looks the token up among RUNNING executions, where an execution
# stopped while a branch waits for its token stays until the interpreter notices; both would
# still be accepted. (moto's own TaskTimedOut, of its parser's API module, is not an error
# moto's responses serialise: raised, it answers a bare 500.)


def _send_task_success(self: Any, task_token: str, outcome: str) -> Any:
    with STATE.lock:
        for execution in self._get_executions():
            worker = execution.exec_worker
            endpoint = worker and worker.env.callback_pool_manager.get(task_token)
            if endpoint and (endpoint.get_outcome() is not None or not worker.env.is_running()):
                raise AWSError("The task associated with the token has already been closed.", "TaskTimedOut")
        # Under the lock: of two calls at once with one token, the second sees the first's outcome.
        return _original_send_task_success(self, task_token, outcome)


_original_lambda_failure = state_task_lambda.StateTaskLambda._from_error
_original_sfn_parameters = sfn_service.StateTaskServiceSfn._normalise_parameters
_original_send_task_success = sfn_parser_models.StepFunctionsParserBackend.send_task_success


def install() -> None:
    state_task_lambda.StateTaskLambda._from_error = _lambda_failure  # type: ignore[method-assign]
    execution_worker.ExecutionData = _execution_data  # type: ignore[misc,assignment]
    sfn_service.StateTaskServiceSfn._normalise_parameters = _sfn_parameters  # type: ignore[method-assign]
    sfn_service.StateTaskServiceSfn._normalise_response = _sfn_response  # type: ignore[method-assign]
    sfn_parser_models.StepFunctionsParserBackend.send_task_success = _send_task_success  # type: ignore[method-assign]
