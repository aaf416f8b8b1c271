//! The handlers called as Lambda calls them, against clients whose answers come from
//! `aws-smithy-mocks`: the exact requests we send, what each answer becomes, and the calls not
//! made. One test binary, a module per handler, so the SDK links once.

mod bad_input;
mod cancel;
mod common;
mod discover;
mod fixtures;
mod poll;
mod start;
mod wake;
