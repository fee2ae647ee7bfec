//! Findings about a model: what is wrong or doubtful, where, and why.

use std::fmt;

use crate::xml::Pos;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The model cannot be deployed as it is.
    Error,
    /// Worth a look; does not block a deploy.
    Warning,
    /// Said for information (a descriptive process, what was checked).
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code (`E012`, `W003`) that names the rule.
    pub code: &'static str,
    /// Where in the file.
    pub pos: Pos,
    /// The id of the element concerned, when it has one.
    pub element_id: Option<String>,
    /// Why, in words a modeler understands.
    pub message: String,
    /// For a script or expression that does not compile: where inside its
    /// text (the designer marks that line in its code editor).
    pub script_pos: Option<Pos>,
}

impl Diagnostic {
    /// An error.
    pub fn error(
        code: &'static str,
        pos: Pos,
        element_id: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            pos,
            element_id: element_id.map(str::to_string),
            message: message.into(),
            script_pos: None,
        }
    }

    /// A warning.
    pub fn warning(
        code: &'static str,
        pos: Pos,
        element_id: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, pos, element_id, message)
        }
    }

    /// `file:line:column: element-id: severity[code]: message`.
    pub fn render(&self, file: &str) -> String {
        format!(
            "{file}:{}:{}: {}: {}[{}]: {}",
            self.pos.line,
            self.pos.column,
            self.element_id.as_deref().unwrap_or("-"),
            self.severity,
            self.code,
            self.message
        )
    }
}

/// Whether any of these findings is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}
