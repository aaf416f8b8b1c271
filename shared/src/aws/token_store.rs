//! The wake's store (docs/interface.md, "Glue's own events"): one DynamoDB item per followed
//! run, keyed by its `runId`, holding the task token the waiting execution left, that
//! execution's ARN and when the item expires (the table's time-to-live attribute). No argument
//! value is ever written.

use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

use crate::error::{from_dynamodb_sdk, PolysyncError};

/// The attributes of an item, as the template's table declares them.
pub const RUN_ID: &str = "runId";
pub const TASK_TOKEN: &str = "taskToken";
pub const EXECUTION_ID: &str = "executionId";
/// The table's `TimeToLiveSpecification.AttributeName`: epoch seconds.
pub const EXPIRES_AT: &str = "expiresAt";

/// What a waiting execution left for the run it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedToken {
    pub task_token: String,
    pub execution_id: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct TokenStore<'a> {
    pub client: &'a Client,
    pub table: &'a str,
}

impl TokenStore<'_> {
    /// Leaves `token` for `run_id`: the newest waiter (a child execution, a redrive) replaces
    /// an older one, whose task can no longer be woken anyway.
    pub async fn park(&self, run_id: &str, token: &ParkedToken) -> Result<(), PolysyncError> {
        self.item(self.client.put_item(), run_id, token)
            .send()
            .await
            .map_err(|e| from_dynamodb_sdk("PutItem", e))?;
        Ok(())
    }

    /// Takes the token left for `run_id`, if any: the item is deleted and what it held comes
    /// back in the same call (`ReturnValues: ALL_OLD`), so of two wakes at once (EventBridge
    /// delivers at least once) only one gets the token.
    pub async fn take(&self, run_id: &str) -> Result<Option<ParkedToken>, PolysyncError> {
        let answer = self
            .client
            .delete_item()
            .table_name(self.table)
            .key(RUN_ID, AttributeValue::S(run_id.to_owned()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| from_dynamodb_sdk("DeleteItem", e))?;
        let Some(item) = answer.attributes() else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let expires_at = item
            .get(EXPIRES_AT)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok());
        Ok(match (text(TASK_TOKEN), text(EXECUTION_ID), expires_at) {
            (Some(task_token), Some(execution_id), Some(expires_at)) => Some(ParkedToken {
                task_token,
                execution_id,
                expires_at,
            }),
            // Not an item this function wrote: nothing to wake.
            _ => None,
        })
    }

    /// Puts back a token taken by a wake that could not send it, unless a newer park has
    /// taken its place: the retried wake, or the next event, finds it again.
    pub async fn put_back(&self, run_id: &str, token: &ParkedToken) -> Result<(), PolysyncError> {
        let put = self
            .item(self.client.put_item(), run_id, token)
            .condition_expression("attribute_not_exists(#run)")
            .expression_attribute_names("#run", RUN_ID)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(from_dynamodb_sdk("PutItem", error)),
        }
    }

    fn item(
        &self,
        put: PutItemFluentBuilder,
        run_id: &str,
        token: &ParkedToken,
    ) -> PutItemFluentBuilder {
        put.table_name(self.table)
            .item(RUN_ID, AttributeValue::S(run_id.to_owned()))
            .item(TASK_TOKEN, AttributeValue::S(token.task_token.clone()))
            .item(EXECUTION_ID, AttributeValue::S(token.execution_id.clone()))
            .item(EXPIRES_AT, AttributeValue::N(token.expires_at.to_string()))
    }
}
