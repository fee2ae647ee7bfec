//! One module per page.

pub mod designer;
pub mod errors;
pub mod inbox;
pub mod library;
pub mod login;
pub mod operations;
pub mod start;
pub mod task;
