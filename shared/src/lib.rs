//! Polysync's "AWS Glue Job" job type: the mapping between Polysync jobs and AWS Glue, and the
//! handlers of the five Lambda functions. The function binaries only wire these to
//! `lambda_runtime`; everything here can be called in a test.

pub mod arguments;
pub mod aws;
pub mod cancel;
pub mod compute;
pub mod config;
pub mod diagnosis;
pub mod discover;
pub mod error;
pub mod event;
pub mod history;
pub mod lateness;
pub mod monitor;
pub mod notification;
pub mod poll;
pub mod polling;
pub mod run_id;
pub mod run_metrics;
pub mod start;
pub mod status;
pub mod usage;
pub mod wake;

pub use aws::{LazyServices, Services};
pub use error::PolysyncError;
