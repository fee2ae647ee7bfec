//! The request and response types of the HTTP API that the server and the
//! web app share, so the two cannot drift apart. Plain data with serde: no
//! I/O, no async runtime, no database; it compiles to `wasm32-unknown-unknown`.
//! With the `openapi` feature each type also describes itself for the
//! server's OpenAPI document.

pub mod admin;
pub mod batches;
pub mod designer;
pub mod instances;
pub mod reference;
pub mod reports;
pub mod requests;
pub mod session;
pub mod tasks;

pub use admin::*;
pub use batches::*;
pub use designer::*;
pub use instances::*;
pub use reference::*;
pub use reports::*;
pub use requests::*;
pub use session::*;
pub use tasks::*;

use serde::{Deserialize, Serialize};

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A short machine-readable kind (`not_found`, `forbidden`, …).
    pub error: String,
    /// The offending field, when one is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why, in words.
    pub reason: String,
}
