//! BPMN 2.0 as data: read any BPMN file losslessly, understand it as a typed
//! model, check it, and write it back unchanged.
//!
//! Invariants: no I/O (callers hand in bytes and get text back); reading never
//! panics on any input; `export(import(x))` means the same XML as `x`.

pub mod bpmn;
pub mod diagnostic;
pub mod diff;
pub mod graph;
pub mod ns;
mod read;
pub mod timer;
pub mod validate;
pub mod xml;

pub use diagnostic::{Diagnostic, Severity};
pub use read::{IdEntry, IdIndex};

/// A BPMN file as read: the lossless tree, the typed model, every id, and
/// what reading found.
#[derive(Debug, Clone)]
pub struct Model {
    /// The lossless XML tree: what export writes.
    pub document: xml::Document,
    /// The typed model.
    pub definitions: bpmn::Definitions,
    /// Every id of a BPMN or DI element, with where it stands.
    pub ids: IdIndex,
    /// Warnings made while reading (unknown content, undeclared prefixes).
    pub import_diagnostics: Vec<Diagnostic>,
}

/// Why a file could not be imported at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// The bytes are not well-formed XML, or break a limit.
    #[error("{}:{}: {}", .0.pos_line, .0.pos_column, .0.reason)]
    Xml(#[from] xml::XmlError),
    /// The root element is not `<definitions>` in the BPMN 2.0 namespace.
    #[error("{line}:{column}: the root element <{found}> is not a BPMN 2.0 <definitions> (namespace {})", ns::BPMN_MODEL)]
    NotBpmn {
        /// The root's name as written.
        found: String,
        /// Line of the root.
        line: u32,
        /// Column of the root.
        column: u32,
    },
}

impl ImportError {
    /// Where in the file the import stopped: (line, column), 1-based.
    pub fn position(&self) -> (u32, u32) {
        match self {
            ImportError::Xml(e) => (e.pos_line, e.pos_column),
            ImportError::NotBpmn { line, column, .. } => (*line, *column),
        }
    }
}

impl Model {
    /// Imports a BPMN file from its bytes with the default limits.
    pub fn import(bytes: &[u8]) -> Result<Model, ImportError> {
        Model::import_with(bytes, &xml::Limits::default())
    }

    /// Imports a BPMN file from its bytes with explicit limits.
    pub fn import_with(bytes: &[u8], limits: &xml::Limits) -> Result<Model, ImportError> {
        let text = xml::decode(bytes, limits)?;
        let (document, warnings) = xml::parse(&text, limits)?;
        let mut import_diagnostics: Vec<Diagnostic> = warnings
            .into_iter()
            .map(|w| Diagnostic::warning("W001", w.pos, None, w.reason))
            .collect();
        let definitions = read::read_definitions(&document.root, &mut import_diagnostics)
            .ok_or_else(|| ImportError::NotBpmn {
                found: document.root.qname.clone(),
                line: document.root.pos.line,
                column: document.root.pos.column,
            })?;
        let ids = read::index_ids(&document.root);
        Ok(Model {
            document,
            definitions,
            ids,
            import_diagnostics,
        })
    }

    /// The file as the model writes it back: same elements, attributes,
    /// namespaces, diagram and extensions, in UTF-8.
    pub fn export(&self) -> String {
        xml::write(&self.document)
    }
}
