//! The lossless XML layer: a namespace-resolved element tree that keeps every
//! element, attribute, namespace declaration, comment and text it was given,
//! in order, so that writing it back loses nothing a modeler put there.
//!
//! Why a tree of our own instead of serde: BPMN files carry the diagram and
//! other vendors' extensions that no typed model can know. The typed model
//! (`crate::bpmn`) is a view over this tree; export writes the tree.

use std::fmt::Write as _;

use quick_xml::events::{BytesStart, Event};
use quick_xml::XmlVersion;

/// Bounds that keep hostile input from exhausting memory or the stack.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted document, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted element nesting.
    pub max_depth: usize,
    /// Longest accepted attribute value, in bytes.
    pub max_attribute_len: usize,
    /// Longest accepted run of text (or CDATA, comment), in bytes.
    pub max_text_len: usize,
    /// Most elements accepted in one document.
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_depth: 128,
            max_attribute_len: 256 * 1024,
            max_text_len: 1024 * 1024,
            max_elements: 200_000,
        }
    }
}

/// Where something stands in the source: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
}

/// A parsed XML document: what comes before the root, the root, what follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The `<?xml …?>` declaration's inner text, as written (encoding rewritten to UTF-8 on output).
    pub declaration: Option<String>,
    /// Comments and processing instructions before the root element.
    pub prolog: Vec<Node>,
    /// The root element.
    pub root: Element,
    /// Comments and processing instructions after the root element.
    pub epilog: Vec<Node>,
}

/// One element, with its name as written and as resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The qualified name as written (`bpmn:task`).
    pub qname: String,
    /// The namespace URI the prefix resolves to, if any.
    pub ns: Option<String>,
    /// The local part of the name (`task`).
    pub local: String,
    /// Attributes in source order, namespace declarations included.
    pub attrs: Vec<Attr>,
    /// Children in source order.
    pub children: Vec<Node>,
    /// Where the start tag begins.
    pub pos: Pos,
}

/// One attribute (or `xmlns` declaration).
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// The qualified name as written.
    pub qname: String,
    /// The namespace URI of a prefixed attribute; `None` for unprefixed ones.
    pub ns: Option<String>,
    /// The local part of the name.
    pub local: String,
    /// The value, unescaped and normalised as XML 1.0 says.
    pub value: String,
}

impl Attr {
    /// Whether this attribute declares a namespace (`xmlns` or `xmlns:p`).
    pub fn is_namespace_declaration(&self) -> bool {
        self.qname == "xmlns" || self.qname.starts_with("xmlns:")
    }
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data, unescaped.
    Text(String),
    /// A CDATA section's content.
    CData(String),
    /// A comment's content.
    Comment(String),
    /// A processing instruction's content.
    ProcessingInstruction(String),
}

/// Why a document could not be read at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{pos_line}:{pos_column}: {reason}")]
pub struct XmlError {
    /// Line of the fault.
    pub pos_line: u32,
    /// Column of the fault.
    pub pos_column: u32,
    /// What is wrong.
    pub reason: String,
}

/// A non-fatal finding made while reading (an unbound prefix mapped to a well-known namespace).
#[derive(Debug, Clone, PartialEq)]
pub struct XmlWarning {
    /// Where it was found.
    pub pos: Pos,
    /// What was found.
    pub reason: String,
}

/// Well-known prefixes, used only when a document uses one without declaring it
/// (bpmn-js tolerates this; strict parsers reject it).
const WELL_KNOWN_PREFIXES: &[(&str, &str)] = &[
    ("bpmn", crate::ns::BPMN_MODEL),
    ("bpmn2", crate::ns::BPMN_MODEL),
    ("bpmndi", crate::ns::BPMN_DI),
    ("dc", crate::ns::DC),
    ("di", crate::ns::DI),
    ("camunda", crate::ns::CAMUNDA),
    ("xsi", crate::ns::XSI),
];

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Maps byte offsets to line and column.
struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { src, starts }
    }

    fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.src.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let column = self
            .src
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        Pos {
            line: line as u32 + 1,
            column: column as u32 + 1,
        }
    }
}

/// Decodes the raw bytes of a file: UTF-8 (with or without BOM), or ISO-8859-1 /
/// US-ASCII / windows-1252 when the declaration says so.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<String, XmlError> {
    let fail = |reason: String| XmlError {
        pos_line: 1,
        pos_column: 1,
        reason,
    };
    if bytes.len() > limits.max_bytes {
        return Err(fail(format!(
            "the file is {} bytes; at most {} are accepted",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(fail(
            "UTF-16 files are not supported; save the file as UTF-8".into(),
        ));
    }
    let head = &bytes[..bytes.len().min(200)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    // Only a well-formed declaration (`<?xml` and white space) names an encoding.
    let declared = head
        .strip_prefix("<?xml")
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_whitespace()))
        .and_then(|rest| rest.split("?>").next())
        .and_then(|decl| decl.split("encoding").nth(1))
        .map(|rest| {
            rest.trim_start_matches(|c: char| c == '=' || c.is_whitespace())
                .trim_start_matches(['"', '\''])
                .split(['"', '\''])
                .next()
                .unwrap_or("")
                .to_string()
        });
    match declared.as_deref() {
        None | Some("utf-8") | Some("utf8") => String::from_utf8(bytes.to_vec()).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&bytes[..offset]);
            let line = before.matches('\n').count() as u32 + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
            XmlError {
                pos_line: line,
                pos_column: column,
                reason: "the file is not valid UTF-8".into(),
            }
        }),
        Some("iso-8859-1") | Some("latin1") | Some("us-ascii") | Some("ascii") => {
            Ok(bytes.iter().map(|&b| b as char).collect())
        }
        Some(other) => Err(fail(format!(
            "the declared encoding {other:?} is not supported (UTF-8 and ISO-8859-1 are)"
        ))),
    }
}

/// Reads a document from text, refusing DTDs and anything past `limits`.
/// Returns the tree and the warnings made on the way.
pub fn parse(src: &str, limits: &Limits) -> Result<(Document, Vec<XmlWarning>), XmlError> {
    if src.len() > limits.max_bytes {
        return Err(XmlError {
            pos_line: 1,
            pos_column: 1,
            reason: format!(
                "the document is {} bytes; at most {} are accepted",
                src.len(),
                limits.max_bytes
            ),
        });
    }
    if let Some(offset) = src.find(|c: char| !is_xml_char(c)) {
        let pos = LineIndex::new(src).pos(offset);
        let c = src[offset..].chars().next().unwrap_or_default();
        return Err(XmlError {
            pos_line: pos.line,
            pos_column: pos.column,
            reason: format!("the character U+{:04X} is not allowed in XML", c as u32),
        });
    }
    Parser {
        src,
        lines: LineIndex::new(src),
        limits,
        scopes: Vec::new(),
        warnings: Vec::new(),
        elements: 0,
    }
    .run()
}

struct Parser<'a> {
    src: &'a str,
    lines: LineIndex<'a>,
    limits: &'a Limits,
    /// Namespace declarations, one frame per open element.
    scopes: Vec<Vec<(String, String)>>,
    warnings: Vec<XmlWarning>,
    elements: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, offset: usize, reason: impl Into<String>) -> XmlError {
        let pos = self.lines.pos(offset);
        XmlError {
            pos_line: pos.line,
            pos_column: pos.column,
            reason: reason.into(),
        }
    }

    fn run(mut self) -> Result<(Document, Vec<XmlWarning>), XmlError> {
        let mut reader = quick_xml::Reader::from_str(self.src);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.trim_text(false);

        let mut declaration = None;
        let mut prolog = Vec::new();
        let mut epilog = Vec::new();
        let mut root: Option<Element> = None;
        // The chain of open elements; the last is the innermost.
        let mut open: Vec<Element> = Vec::new();

        loop {
            let offset = reader.buffer_position() as usize;
            let event = reader.read_event().map_err(|e| {
                let at = reader.error_position() as usize;
                self.err(at, format!("malformed XML: {e}"))
            })?;
            match event {
                Event::Eof => break,
                Event::Decl(d) => {
                    if offset != 0 {
                        return Err(self.err(
                            offset,
                            "an XML declaration may only stand at the very start of the file",
                        ));
                    }
                    declaration = Some(d.as_ref().to_string());
                }
                Event::DocType(_) => {
                    return Err(self.err(
                        offset,
                        "a DOCTYPE declaration is not accepted (DTDs and entity declarations are refused)",
                    ));
                }
                Event::Start(start) | Event::Empty(start) if root.is_some() && open.is_empty() => {
                    let _ = start;
                    return Err(self.err(offset, "a second root element is not allowed"));
                }
                Event::Start(start) => {
                    if open.len() + 1 > self.limits.max_depth {
                        return Err(self.err(
                            offset,
                            format!(
                                "elements are nested more than {} deep",
                                self.limits.max_depth
                            ),
                        ));
                    }
                    let element = self.open_element(&start, offset)?;
                    open.push(element);
                }
                Event::Empty(start) => {
                    if open.len() + 1 > self.limits.max_depth {
                        return Err(self.err(
                            offset,
                            format!(
                                "elements are nested more than {} deep",
                                self.limits.max_depth
                            ),
                        ));
                    }
                    let element = self.open_element(&start, offset)?;
                    self.scopes.pop();
                    match open.last_mut() {
                        Some(parent) => parent.children.push(Node::Element(element)),
                        None => root = Some(element),
                    }
                }
                Event::End(_) => {
                    self.scopes.pop();
                    let element = open
                        .pop()
                        .ok_or_else(|| self.err(offset, "an end tag with no start tag"))?;
                    match open.last_mut() {
                        Some(parent) => parent.children.push(Node::Element(element)),
                        None => root = Some(element),
                    }
                }
                Event::Text(t) => {
                    let text = t.xml_content(XmlVersion::Explicit1_0);
                    self.push_text(&mut open, &text, offset)?;
                }
                Event::GeneralRef(r) => {
                    let ch = match r.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => c.to_string(),
                        Ok(Some(c)) => {
                            return Err(self.err(
                                offset,
                                format!(
                                    "the character reference to U+{:04X} is not allowed in XML",
                                    c as u32
                                ),
                            ))
                        }
                        Ok(None) => {
                            let name = r.as_ref().to_string();
                            predefined_entity(&name)
                                .ok_or_else(|| {
                                    self.err(
                                        offset,
                                        format!("the entity reference &{name}; is not defined (only the five XML entities are)"),
                                    )
                                })?
                                .to_string()
                        }
                        Err(e) => {
                            return Err(self.err(offset, format!("bad character reference: {e}")))
                        }
                    };
                    self.push_text(&mut open, &ch, offset)?;
                }
                Event::CData(c) => {
                    let text = c.as_ref().to_string();
                    self.check_text_len(text.len(), offset)?;
                    match open.last_mut() {
                        Some(parent) => parent.children.push(Node::CData(text)),
                        None => return Err(self.err(offset, "CDATA outside the root element")),
                    }
                }
                Event::Comment(c) => {
                    let text = c.as_ref().to_string();
                    self.check_text_len(text.len(), offset)?;
                    let node = Node::Comment(text);
                    match (open.last_mut(), root.is_some()) {
                        (Some(parent), _) => parent.children.push(node),
                        (None, false) => prolog.push(node),
                        (None, true) => epilog.push(node),
                    }
                }
                Event::PI(p) => {
                    let text = p.as_ref().to_string();
                    let target = text.split(|c: char| c.is_whitespace()).next().unwrap_or("");
                    if target.eq_ignore_ascii_case("xml") {
                        return Err(self.err(
                            offset,
                            "an XML declaration may only stand at the very start of the file",
                        ));
                    }
                    let node = Node::ProcessingInstruction(text);
                    match (open.last_mut(), root.is_some()) {
                        (Some(parent), _) => parent.children.push(node),
                        (None, false) => prolog.push(node),
                        (None, true) => epilog.push(node),
                    }
                }
            }
        }
        if let Some(unclosed) = open.last() {
            let pos = unclosed.pos;
            return Err(XmlError {
                pos_line: pos.line,
                pos_column: pos.column,
                reason: format!("the element <{}> is never closed", unclosed.qname),
            });
        }
        let root =
            root.ok_or_else(|| self.err(self.src.len(), "the document has no root element"))?;
        Ok((
            Document {
                declaration,
                prolog,
                root,
                epilog,
            },
            self.warnings,
        ))
    }

    fn check_text_len(&self, len: usize, offset: usize) -> Result<(), XmlError> {
        if len > self.limits.max_text_len {
            return Err(self.err(
                offset,
                format!(
                    "a text of {len} bytes is longer than the {} accepted",
                    self.limits.max_text_len
                ),
            ));
        }
        Ok(())
    }

    fn push_text(&self, open: &mut [Element], text: &str, offset: usize) -> Result<(), XmlError> {
        let Some(parent) = open.last_mut() else {
            if text.trim().is_empty() {
                return Ok(());
            }
            return Err(self.err(offset, "text outside the root element"));
        };
        // Adjacent text and references join into one text node, as in the DOM.
        if let Some(Node::Text(prev)) = parent.children.last_mut() {
            prev.push_str(text);
            let len = prev.len();
            return self.check_text_len(len, offset);
        }
        self.check_text_len(text.len(), offset)?;
        parent.children.push(Node::Text(text.to_string()));
        Ok(())
    }

    fn resolve(
        &mut self,
        prefix: Option<&str>,
        offset: usize,
        for_attribute: bool,
    ) -> Option<String> {
        let key = prefix.unwrap_or("");
        if key == "xml" {
            return Some(XML_NS.to_string());
        }
        if for_attribute && prefix.is_none() {
            return None;
        }
        for frame in self.scopes.iter().rev() {
            if let Some((_, uri)) = frame.iter().rev().find(|(p, _)| p == key) {
                return if uri.is_empty() {
                    None
                } else {
                    Some(uri.clone())
                };
            }
        }
        let prefix = prefix?;
        if let Some((_, uri)) = WELL_KNOWN_PREFIXES.iter().find(|(p, _)| *p == prefix) {
            self.warnings.push(XmlWarning {
                pos: self.lines.pos(offset),
                reason: format!("the prefix {prefix:?} is used but never declared; read as {uri}"),
            });
            return Some((*uri).to_string());
        }
        self.warnings.push(XmlWarning {
            pos: self.lines.pos(offset),
            reason: format!("the prefix {prefix:?} is used but never declared"),
        });
        None
    }

    fn open_element(&mut self, start: &BytesStart<'_>, offset: usize) -> Result<Element, XmlError> {
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(self.err(
                offset,
                format!(
                    "the document has more than {} elements",
                    self.limits.max_elements
                ),
            ));
        }
        let qname = start.name().into_inner().to_string();
        if !is_qname(&qname) {
            return Err(self.err(offset, format!("{qname:?} is not a valid element name")));
        }
        let mut raw_attrs = Vec::new();
        for attr in start.attributes().with_checks(true) {
            let attr = attr
                .map_err(|e| self.err(offset, format!("malformed attribute in <{qname}>: {e}")))?;
            let name = attr.key.into_inner().to_string();
            if !is_qname(&name) {
                return Err(self.err(
                    offset,
                    format!("{name:?} is not a valid attribute name in <{qname}>"),
                ));
            }
            if attr.value.len() > self.limits.max_attribute_len {
                return Err(self.err(
                    offset,
                    format!(
                        "the attribute {name} of <{qname}> is {} bytes; at most {} are accepted",
                        attr.value.len(),
                        self.limits.max_attribute_len
                    ),
                ));
            }
            let value = attr
                .normalized_value(XmlVersion::Explicit1_0)
                .map_err(|e| {
                    self.err(
                        offset,
                        format!("bad value of the attribute {name} of <{qname}>: {e}"),
                    )
                })?
                .into_owned();
            if value.contains(|c: char| !is_xml_char(c)) {
                return Err(self.err(
                    offset,
                    format!(
                        "the attribute {name} of <{qname}> holds a character not allowed in XML"
                    ),
                ));
            }
            raw_attrs.push((name, value));
        }
        let frame: Vec<(String, String)> = raw_attrs
            .iter()
            .filter_map(|(name, value)| {
                if name == "xmlns" {
                    Some((String::new(), value.clone()))
                } else {
                    name.strip_prefix("xmlns:")
                        .map(|p| (p.to_string(), value.clone()))
                }
            })
            .collect();
        self.scopes.push(frame);
        let (prefix, local) = split_qname(&qname);
        let ns = self.resolve(prefix, offset, false);
        let mut attrs = Vec::with_capacity(raw_attrs.len());
        for (name, value) in raw_attrs {
            let (prefix, local) = split_qname(&name);
            let ns = if name == "xmlns" || prefix == Some("xmlns") {
                None
            } else {
                self.resolve(prefix, offset, true)
            };
            attrs.push(Attr {
                local: local.to_string(),
                qname: name,
                ns,
                value,
            });
        }
        Ok(Element {
            local: local.to_string(),
            qname,
            ns,
            attrs,
            children: Vec::new(),
            pos: self.lines.pos(offset),
        })
    }
}

/// The characters XML 1.0 allows (section 2.2).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether `s` is a namespace-well-formed XML name: `NCName` or `NCName:NCName`.
fn is_qname(s: &str) -> bool {
    let ncname = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || !c.is_ascii())
            && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.') || !c.is_ascii())
    };
    match s.split_once(':') {
        Some((p, l)) => ncname(p) && ncname(l),
        None => ncname(s),
    }
}

fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return None,
    })
}

fn split_qname(qname: &str) -> (Option<&str>, &str) {
    match qname.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, qname),
    }
}

impl Element {
    /// The value of the unprefixed attribute `local`.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local && !a.is_namespace_declaration())
            .map(|a| a.value.as_str())
    }

    /// The value of the attribute `local` in namespace `ns`.
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(ns) && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// Whether this element is `local` in namespace `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }

    /// The child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The child elements named `local` in namespace `ns`.
    pub fn children_named<'s>(
        &'s self,
        ns: &'s str,
        local: &'s str,
    ) -> impl Iterator<Item = &'s Element> + 's {
        self.elements().filter(move |e| e.is(ns, local))
    }

    /// The first child element named `local` in namespace `ns`.
    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(ns, local))
    }

    /// The concatenated text and CDATA content of this element (not of its descendants).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            if let Node::Text(t) | Node::CData(t) = n {
                out.push_str(t);
            }
        }
        out
    }
}

/// Writes a document back as UTF-8 XML. Namespace declarations and prefixes
/// are written as they were read, so the output resolves exactly like the input.
pub fn write(doc: &Document) -> String {
    let mut out = String::new();
    if let Some(decl) = &doc.declaration {
        out.push_str("<?");
        out.push_str(&utf8_declaration(decl));
        out.push_str("?>\n");
    }
    for node in &doc.prolog {
        write_node(&mut out, node);
        out.push('\n');
    }
    write_element(&mut out, &doc.root);
    for node in &doc.epilog {
        out.push('\n');
        write_node(&mut out, node);
    }
    out.push('\n');
    out
}

/// The output is always UTF-8, so a declaration naming another encoding is corrected.
fn utf8_declaration(decl: &str) -> String {
    let lower = decl.to_ascii_lowercase();
    match lower.find("encoding") {
        None => decl.to_string(),
        Some(at) => {
            let rest = &decl[at..];
            let Some(q_at) = rest.find(['"', '\'']) else {
                return decl.to_string();
            };
            let quote = rest[q_at..].chars().next().unwrap_or('"');
            let after = &rest[q_at + 1..];
            let Some(end) = after.find(quote) else {
                return decl.to_string();
            };
            format!(
                "{}encoding={quote}UTF-8{quote}{}",
                &decl[..at],
                &after[end + 1..]
            )
        }
    }
}

fn write_node(out: &mut String, node: &Node) {
    match node {
        Node::Element(e) => write_element(out, e),
        Node::Text(t) => escape_text(out, t),
        Node::CData(t) => {
            out.push_str("<![CDATA[");
            out.push_str(t);
            out.push_str("]]>");
        }
        Node::Comment(t) => {
            out.push_str("<!--");
            out.push_str(t);
            out.push_str("-->");
        }
        Node::ProcessingInstruction(t) => {
            out.push_str("<?");
            out.push_str(t);
            out.push_str("?>");
        }
    }
}

fn write_element(out: &mut String, e: &Element) {
    out.push('<');
    out.push_str(&e.qname);
    for a in &e.attrs {
        let _ = write!(out, " {}=\"", a.qname);
        escape_attr(out, &a.value);
        out.push('"');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for c in &e.children {
        write_node(out, c);
    }
    out.push_str("</");
    out.push_str(&e.qname);
    out.push('>');
}

fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
}

fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            _ => out.push(c),
        }
    }
}

/// Compares two documents by meaning: same elements by namespace and local
/// name, same attributes by namespace and local name (order and prefixes
/// ignored, namespace declarations ignored), same text with surrounding
/// whitespace ignored; comments and processing instructions ignored.
/// Returns the first difference as a path and reason.
pub fn semantic_diff(a: &Element, b: &Element) -> Option<String> {
    diff_element(a, b, &mut String::new())
}

fn diff_element(a: &Element, b: &Element, path: &mut String) -> Option<String> {
    let here_len = path.len();
    let _ = write!(path, "/{}", a.local);
    if let Some(id) = a.attr("id") {
        let _ = write!(path, "[@id={id}]");
    }
    let result = (|| {
        if a.ns != b.ns || a.local != b.local {
            return Some(format!(
                "{path}: element {{{}}}{} became {{{}}}{}",
                a.ns.as_deref().unwrap_or(""),
                a.local,
                b.ns.as_deref().unwrap_or(""),
                b.local
            ));
        }
        let key = |x: &Attr| (x.ns.clone(), x.local.clone(), x.value.clone());
        let mut aa: Vec<_> = a
            .attrs
            .iter()
            .filter(|x| !x.is_namespace_declaration())
            .map(key)
            .collect();
        let mut ba: Vec<_> = b
            .attrs
            .iter()
            .filter(|x| !x.is_namespace_declaration())
            .map(key)
            .collect();
        aa.sort();
        ba.sort();
        if aa != ba {
            return Some(format!("{path}: attributes differ: {aa:?} vs {ba:?}"));
        }
        let at = a.text();
        let bt = b.text();
        if at.trim() != bt.trim() {
            return Some(format!(
                "{path}: text differs: {:?} vs {:?}",
                at.trim(),
                bt.trim()
            ));
        }
        let ac: Vec<_> = a.elements().collect();
        let bc: Vec<_> = b.elements().collect();
        if ac.len() != bc.len() {
            return Some(format!(
                "{path}: {} child elements became {}",
                ac.len(),
                bc.len()
            ));
        }
        for (x, y) in ac.iter().zip(bc.iter()) {
            if let Some(d) = diff_element(x, y, path) {
                return Some(d);
            }
        }
        None
    })();
    path.truncate(here_len);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Document {
        parse(s, &Limits::default()).expect("parses").0
    }

    #[test]
    fn round_trip_keeps_prefixes_comments_and_entities() {
        let src = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<a:root xmlns:a="urn:a" xmlns:b="urn:b" b:x="1 &amp; 2" y="&#10;line"><b:child>t &lt; u</b:child><![CDATA[<raw>]]></a:root>"#;
        let doc = read(src);
        assert_eq!(doc.root.ns.as_deref(), Some("urn:a"));
        assert_eq!(doc.root.attr_ns("urn:b", "x"), Some("1 & 2"));
        assert_eq!(doc.root.attr("y"), Some("\nline"));
        let out = write(&doc);
        let again = read(&out);
        assert_eq!(doc, again);
        assert_eq!(semantic_diff(&doc.root, &again.root), None);
    }

    #[test]
    fn doctype_is_refused() {
        let err = parse(
            "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(err.reason.contains("DOCTYPE"), "{err}");
    }

    #[test]
    fn unknown_entity_is_refused_with_its_name() {
        let err = parse("<x>&boom;</x>", &Limits::default()).unwrap_err();
        assert!(err.reason.contains("&boom;"), "{err}");
    }

    #[test]
    fn depth_limit_is_enforced() {
        let deep = "<a>".repeat(200) + &"</a>".repeat(200);
        let err = parse(&deep, &Limits::default()).unwrap_err();
        assert!(err.reason.contains("nested more than 128"), "{err}");
        assert_eq!(err.pos_line, 1);
    }

    #[test]
    fn undeclared_well_known_prefix_falls_back_with_a_warning() {
        let (doc, warnings) = parse(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:task id="t"/></definitions>"#,
            &Limits::default(),
        )
        .expect("parses");
        let task = doc.root.elements().next().expect("child");
        assert_eq!(task.ns.as_deref(), Some(crate::ns::BPMN_MODEL));
        assert_eq!(warnings.len(), 1);
    }

    /// Found by cargo-fuzz: a NUL byte in an id, and a mangled declaration
    /// that still named ISO-8859-1 after export wrote UTF-8.
    #[test]
    fn forbidden_characters_and_stray_declarations_are_refused() {
        let err = parse("<a id=\"x\u{0}y\"/>", &Limits::default()).unwrap_err();
        assert!(err.reason.contains("U+0000"), "{err}");
        assert!(parse("<a>&#0;</a>", &Limits::default()).is_err());
        let err = parse("<a><?xml version=\"1.0\"?></a>", &Limits::default()).unwrap_err();
        assert!(err.reason.contains("declaration"), "{err}");
        let mangled = b"<?xml\xFF1ersion=\"1.0\" encoding=\"ISO-8859-1\"?><a/>";
        assert!(
            decode(mangled, &Limits::default()).is_err(),
            "not a declaration: read as UTF-8, which it is not"
        );
    }

    /// Found by cargo-fuzz: `< />` was read as an element with no name, and written back as `</>`.
    #[test]
    fn nameless_elements_are_refused() {
        let err = parse("<a>< /></a>", &Limits::default()).unwrap_err();
        assert!(err.reason.contains("not a valid element name"), "{err}");
        assert!(parse("<a:b:c/>", &Limits::default()).is_err());
    }

    #[test]
    fn positions_are_line_and_column() {
        let doc = read("<a>\n  <b/>\n</a>");
        let b = doc.root.elements().next().expect("child");
        assert_eq!(b.pos, Pos { line: 2, column: 3 });
    }

    #[test]
    fn latin1_declared_file_decodes() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a x=\"\xE9\"/>";
        let text = decode(bytes, &Limits::default()).expect("decodes");
        let doc = read(&text);
        assert_eq!(doc.root.attr("x"), Some("é"));
        assert!(write(&doc).contains("encoding=\"UTF-8\""));
    }
}
