//! Scaling edits in the UI: the domain's form, request and validation (shared with the
//! server), and the server functions behind the edit panel and the audit page.

pub mod api;

pub use domain::scaling::*;
