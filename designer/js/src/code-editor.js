// The facade over CodeMirror 6 for Rhai (conditions and scripts) and for
// the plain text of named-query files and document templates. The Rust
// side (designer/src/widgets/code_editor.rs) mounts it, sets its text and
// the compiler's findings, and hears every change. One editor per page.
import { EditorState } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { StreamLanguage, syntaxHighlighting, defaultHighlightStyle, bracketMatching } from '@codemirror/language';
import { setDiagnostics, lintGutter } from '@codemirror/lint';

// Rhai's keywords (https://rhai.rs/book/appendix/keywords.html) and literals.
const KEYWORDS = new Set(['let', 'const', 'if', 'else', 'switch', 'do', 'while', 'until', 'loop', 'for', 'in',
  'continue', 'break', 'return', 'throw', 'try', 'catch', 'fn', 'private', 'import', 'export', 'as', 'global',
  'is_shared', 'this', 'Fn', 'call', 'curry', 'type_of', 'print', 'debug', 'eval']);
const ATOMS = new Set(['true', 'false', '()']);

const rhai = StreamLanguage.define({
  name: 'rhai',
  startState: () => ({ comment: false }),
  token(stream, state) {
    if (state.comment) {
      if (stream.skipTo('*/')) { stream.next(); stream.next(); state.comment = false; } else stream.skipToEnd();
      return 'comment';
    }
    if (stream.eatSpace()) return null;
    if (stream.match('//')) { stream.skipToEnd(); return 'comment'; }
    if (stream.match('/*')) { state.comment = true; return 'comment'; }
    const ch = stream.peek();
    if (ch === '"' || ch === '`') {
      stream.next();
      let escaped = false;
      for (let c = stream.next(); c != null; c = stream.next()) {
        if (c === ch && !escaped) break;
        escaped = !escaped && c === '\\';
      }
      return 'string';
    }
    if (ch === "'") { stream.match(/^'(\\.|[^'])'/) || stream.next(); return 'string'; }
    if (stream.match(/^[0-9][0-9_]*(\.[0-9_]+)?/)) return 'number';
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) {
      const word = stream.current();
      if (KEYWORDS.has(word)) return 'keyword';
      if (ATOMS.has(word)) return 'atom';
      return stream.peek() === '(' ? 'variableName.function' : 'variableName';
    }
    if (stream.match(/^(==|!=|<=|>=|&&|\|\||\?\?|\.\.=?|[-+*/%<>!=&|^])/)) return 'operator';
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: '//', block: { open: '/*', close: '*/' } } },
});

let view = null;

// Creates the editor in `parent` with `text`; `onChange(text)` after each edit.
// `label` names it for assistive technology. `language` is 'rhai' (the
// default) or 'plain' (a named-query file or a Typst template: no highlighting).
export function mount(parent, text, label, onChange, language = 'rhai') {
  destroy();
  view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(), history(), highlightActiveLine(), bracketMatching(), lintGutter(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        ...(language === 'rhai' ? [rhai, syntaxHighlighting(defaultHighlightStyle)] : []),
        EditorView.contentAttributes.of({ 'aria-label': label }),
        EditorView.updateListener.of((u) => { if (u.docChanged) onChange(u.state.doc.toString()); }),
      ],
    }),
  });
}

// The compiler's findings: a JSON array of {line, column, message} (1-based).
export function setProblems(json) {
  if (!view) return;
  const doc = view.state.doc;
  const diagnostics = JSON.parse(json).map((p) => {
    const line = doc.line(Math.min(Math.max(p.line, 1), doc.lines));
    const from = Math.min(line.from + Math.max(p.column - 1, 0), line.to);
    return { from, to: Math.max(from + 1, line.to), severity: 'error', message: p.message };
  });
  view.dispatch(setDiagnostics(view.state, diagnostics));
}

// The editor's text.
export function text() {
  return view ? view.state.doc.toString() : '';
}

// Removes the editor.
export function destroy() {
  if (view) { view.destroy(); view = null; }
}
