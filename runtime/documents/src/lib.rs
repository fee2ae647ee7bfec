//! Documents: a Typst template deployed with a process (a `.typ` file beside
//! its BPMN, which an analyst edits like any other file of the deployment),
//! filled from the variables in view and typeset to PDF.
//!
//! Pure: the template's files, its data and the day come in as arguments,
//! the PDF's bytes go out. The fonts are Typst's own (`typst-assets`),
//! compiled into the binary: nothing is read from the machine or the
//! network, so a document typesets the same everywhere.
//!
//! A template reads its data as JSON: `#let data = json("/data.json")`.
//! Exact amounts arrive as text with their scale (`"456.78"`), never as
//! floats, so what the ledger holds is what the page prints.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{DiagSpan, DiagSpanKind, FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

/// The file a template reads its data from.
pub const DATA_FILE: &str = "data.json";

/// Why a template could not be typeset: where, and what Typst said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct DocumentError {
    /// The template file (as the deployment names it, below the template's folder).
    pub file: String,
    /// The 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// Typst's message, with its hints.
    pub message: String,
}

/// A template to typeset: its main file and every file it may import.
#[derive(Debug, Clone)]
pub struct Template {
    /// The main file's name, e.g. `receipt.typ`.
    pub main: String,
    /// Every file the template may read, by name relative to the main file's folder.
    pub files: HashMap<String, String>,
}

impl Template {
    /// The template `main` among a deployment's `files` (named by their path
    /// in the deployment), seeing the files of its own folder and below.
    /// `None` when the deployment has no such file.
    pub fn from_deployment<'a>(
        main: &str,
        files: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Option<Template> {
        let folder = match main.rfind('/') {
            Some(i) => &main[..=i],
            None => "",
        };
        let files: HashMap<String, String> = files
            .into_iter()
            .filter_map(|(name, text)| {
                let rel = name.strip_prefix(folder)?;
                Some((rel.to_string(), text.clone()))
            })
            .collect();
        let main = main[folder.len()..].to_string();
        files
            .contains_key(&main)
            .then_some(Template { main, files })
    }

    /// Checks the template's syntax without typesetting it (at deployment,
    /// before any data exists): the first error, with its line.
    pub fn check(&self) -> Result<(), DocumentError> {
        for (name, text) in self.files.iter().filter(|(n, _)| n.ends_with(".typ")) {
            let id = file_id(name).map_err(|e| bad_name(name, e))?;
            let source = Source::new(id, text.clone());
            let (errors, _) = source.root().errors_and_warnings();
            if let Some(error) = errors.first() {
                let line = line_of(&source, error.span);
                return Err(DocumentError {
                    file: name.clone(),
                    line,
                    message: error.message.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Typesets the template with `data` (read by the template as
    /// `/data.json`) on `today` (what `datetime.today()` answers): the PDF.
    pub fn render(
        &self,
        data: &serde_json::Value,
        today: NaiveDate,
    ) -> Result<Vec<u8>, DocumentError> {
        let world = TemplateWorld::new(self, data, today)?;
        let compiled = typst::compile::<PagedDocument>(&world);
        let pdf = compiled
            .output
            .map_err(|errors| world.explain(&errors))
            .and_then(|document| {
                typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default())
                    .map_err(|errors| world.explain(&errors))
            });
        // Every document has data of its own: what Typst memoized for it
        // will not be asked for again, and would otherwise be kept forever.
        comemo::evict(0);
        pdf
    }
}

/// Typst's fonts, parsed once per process.
fn fonts() -> &'static (LazyHash<FontBook>, Vec<Font>) {
    static FONTS: OnceLock<(LazyHash<FontBook>, Vec<Font>)> = OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
    })
}

/// Typst's standard library, built once per process.
fn library() -> &'static LazyHash<Library> {
    static LIBRARY: OnceLock<LazyHash<Library>> = OnceLock::new();
    LIBRARY.get_or_init(|| LazyHash::new(Library::default()))
}

/// One typesetting's world: the template's files, its data, the day.
struct TemplateWorld {
    main: FileId,
    sources: HashMap<FileId, Source>,
    data: Bytes,
    data_id: FileId,
    names: HashMap<FileId, String>,
    today: NaiveDate,
}

fn bad_name(name: &str, reason: String) -> DocumentError {
    DocumentError {
        file: name.to_string(),
        line: None,
        message: format!("the file's name cannot be used: {reason}"),
    }
}

/// The 1-based line a diagnostic's span points at in `source`.
fn line_of(source: &Source, span: DiagSpan) -> Option<usize> {
    let range = match span.get() {
        DiagSpanKind::Detached => return None,
        DiagSpanKind::Number { num, sub_range, .. } => source.range(num, sub_range)?,
        DiagSpanKind::Range { range, .. } => range,
    };
    source.lines().byte_to_line(range.start).map(|l| l + 1)
}

fn file_id(name: &str) -> Result<FileId, String> {
    let path = VirtualPath::new(format!("/{name}")).map_err(|e| format!("{e:?}"))?;
    Ok(RootedPath::new(VirtualRoot::Project, path).intern())
}

impl TemplateWorld {
    fn new(
        template: &Template,
        data: &serde_json::Value,
        today: NaiveDate,
    ) -> Result<Self, DocumentError> {
        let mut sources = HashMap::new();
        let mut names = HashMap::new();
        for (name, text) in &template.files {
            let id = file_id(name).map_err(|e| bad_name(name, e))?;
            names.insert(id, name.clone());
            sources.insert(id, Source::new(id, text.clone()));
        }
        let main = file_id(&template.main).map_err(|e| bad_name(&template.main, e))?;
        let data_id = file_id(DATA_FILE).map_err(|e| bad_name(DATA_FILE, e))?;
        names.insert(data_id, DATA_FILE.to_string());
        let data = Bytes::new(serde_json::to_vec(data).unwrap_or_default());
        Ok(TemplateWorld {
            main,
            sources,
            data,
            data_id,
            names,
            today,
        })
    }

    /// The first error among Typst's diagnostics, named by file and line.
    fn explain(&self, diagnostics: &[SourceDiagnostic]) -> DocumentError {
        let error = diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
            .or(diagnostics.first());
        let Some(error) = error else {
            return DocumentError {
                file: self.names.get(&self.main).cloned().unwrap_or_default(),
                line: None,
                message: "Typst failed without saying why".into(),
            };
        };
        let id = error.span.id();
        let file = id
            .and_then(|id| self.names.get(&id).cloned())
            .or_else(|| self.names.get(&self.main).cloned())
            .unwrap_or_default();
        let line = id
            .and_then(|id| self.sources.get(&id))
            .and_then(|source| line_of(source, error.span));
        let mut message = error.message.to_string();
        for hint in &error.hints {
            message.push_str(&format!(" (hint: {})", hint.v));
        }
        DocumentError {
            file,
            line,
            message,
        }
    }
}

impl World for TemplateWorld {
    fn library(&self) -> &LazyHash<Library> {
        library()
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().0
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        self.sources.get(&id).cloned().ok_or_else(|| not_found(id))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            return Ok(self.data.clone());
        }
        self.sources
            .get(&id)
            .map(|s| Bytes::from_string(s.clone()))
            .ok_or_else(|| not_found(id))
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().1.get(index).cloned()
    }

    fn today(&self, offset: Option<Duration>) -> Option<Datetime> {
        // The day is the caller's (the step's time, in UTC): an offset
        // would make the same step print another day on another machine.
        let _ = offset;
        Datetime::from_ymd(
            self.today.year(),
            u8::try_from(self.today.month()).ok()?,
            u8::try_from(self.today.day()).ok()?,
        )
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(std::path::PathBuf::from(id.get().vpath().get_with_slash()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(files: &[(&str, &str)]) -> Template {
        let files: HashMap<String, String> = files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        Template::from_deployment("p/receipt.typ", files.iter()).expect("the main file is there")
    }

    #[test]
    fn a_template_typesets_its_data_to_pdf() {
        let t = template(&[(
            "p/receipt.typ",
            "#let data = json(\"/data.json\")\nRequest #data.request on #datetime.today().display()",
        )]);
        let pdf = t
            .render(
                &serde_json::json!({"request": "REQ-1"}),
                NaiveDate::from_ymd_opt(2024, 11, 20).expect("a date"),
            )
            .expect("it typesets");
        assert!(pdf.starts_with(b"%PDF-"), "a PDF");
        assert!(pdf.len() > 1000);
    }

    #[test]
    fn a_template_sees_only_its_own_folder() {
        let files: HashMap<String, String> = [
            ("p/receipt.typ", "#import \"parts/head.typ\": title\n#title"),
            ("p/parts/head.typ", "#let title = [Receipt]"),
            ("q/other.typ", "x"),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
        let t = Template::from_deployment("p/receipt.typ", files.iter()).expect("found");
        assert_eq!(t.main, "receipt.typ");
        let mut seen: Vec<&String> = t.files.keys().collect();
        seen.sort();
        assert_eq!(seen, ["parts/head.typ", "receipt.typ"]);
        let today = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date");
        assert!(t.render(&serde_json::json!({}), today).is_ok());
        assert!(Template::from_deployment("p/missing.typ", files.iter()).is_none());
    }

    #[test]
    fn a_syntax_error_names_file_and_line() {
        let t = template(&[("p/receipt.typ", "fine\nstill fine\n#let x = (1, 2")]);
        let e = t.check().expect_err("unclosed");
        assert_eq!(e.file, "receipt.typ");
        assert_eq!(e.line, Some(3));
        assert!(!e.message.is_empty());
    }

    #[test]
    fn a_missing_field_names_its_line_when_typeset() {
        let t = template(&[(
            "p/receipt.typ",
            "#let data = json(\"/data.json\")\n\nAmount: #data.amount",
        )]);
        assert!(t.check().is_ok(), "the syntax is fine");
        let e = t
            .render(
                &serde_json::json!({"other": 1}),
                NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date"),
            )
            .expect_err("no amount");
        assert_eq!((e.file.as_str(), e.line), ("receipt.typ", Some(3)));
        assert!(e.message.contains("amount"), "{e}");
    }
}
