//! Sign-in: who is asking and what the web app may show them.

use serde::{Deserialize, Serialize};

/// Sign-in request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// User name.
    pub user: String,
    /// Role: `admin`, `analyst`, `staff` or `system`.
    pub role: String,
    /// Groups.
    pub groups: Vec<String>,
    /// The CSRF token to send as `X-CSRF-Token` with state-changing requests (sign-in only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

impl Me {
    /// Whether this user may open the designer (analysts and administrators).
    pub fn may_design(&self) -> bool {
        matches!(self.role.as_str(), "admin" | "analyst")
    }

    /// Whether this user may deploy and retire versions (administrators).
    pub fn may_deploy(&self) -> bool {
        self.role == "admin"
    }

    /// Whether this user keeps processes running: the operations pages
    /// (instances, incidents; administrators).
    pub fn may_operate(&self) -> bool {
        self.role == "admin"
    }

    /// Whether this user works an inbox (everyone but system accounts).
    pub fn may_work_tasks(&self) -> bool {
        self.role != "system"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me(role: &str) -> Me {
        Me {
            user: "u".into(),
            role: role.into(),
            groups: vec![],
            csrf_token: None,
        }
    }

    #[test]
    fn only_analysts_and_admins_design_and_only_admins_deploy() {
        assert!(me("admin").may_design() && me("admin").may_deploy());
        assert!(me("analyst").may_design() && !me("analyst").may_deploy());
        assert!(!me("staff").may_design() && !me("staff").may_deploy());
        assert!(me("staff").may_work_tasks() && !me("system").may_work_tasks());
    }
}
