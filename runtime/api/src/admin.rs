//! Administration: users and their groups, API tokens, the audit trail.

use serde::{Deserialize, Serialize};

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserOut {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Disabled: cannot sign in.
    pub disabled: bool,
}

/// A user to create or update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    /// Name.
    pub name: String,
    /// Password (at least 10 characters); left out when changing an
    /// existing user, it stays as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `admin`, `analyst`, `staff` or `system`.
    pub role: String,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// A disabled user cannot sign in, and their sessions end; left out, it
    /// stays as it was (a new user is enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// An API token as listed: never the token itself, which is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenOut {
    /// Its id: the first 16 hex digits of its SHA-256 hash.
    pub id: String,
    /// The user it signs in as.
    pub user: String,
    /// What it is for.
    pub label: Option<String>,
    /// When it was made.
    pub created_at: String,
}

/// A token to make.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    /// The user it signs in as.
    pub user: String,
    /// What it is for (up to 200 characters).
    #[serde(default)]
    pub label: Option<String>,
}

/// A token just made: the only time the token itself is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenCreated {
    /// Its id, as listed.
    pub id: String,
    /// The token, for `Authorization: Bearer …`.
    pub token: String,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditOut {
    /// When.
    pub at: String,
    /// Who.
    pub actor: Option<String>,
    /// What.
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// `ok`, `denied`, `refused`, `rate-limited`.
    pub outcome: String,
    /// What more there is to say: a cancel's reason; a variable set by an
    /// administrator, with its old and new value; a modification's
    /// instructions (JSON text).
    pub detail: Option<String>,
}
