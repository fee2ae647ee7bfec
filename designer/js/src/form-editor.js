// The facade over the form-js editor, for a user task's or start event's
// form (camunda:formRef) in the designer, with a live preview in the form-js
// viewer beside it. The Rust side (designer/src/widgets/form_editor.rs) sees
// only these functions, with strings, JSON and DOM elements across. One
// editor per page.

import { FormEditor } from '@bpmn-io/form-js-editor';
import { Form } from '@bpmn-io/form-js-viewer';

let editor = null;
let preview = null;
let previewTimer = null;
// Each mount's number: a mount overtaken by a newer one removes its own
// editor when its import finishes.
let generation = 0;

// Opens `schema` (form-js JSON) in an editor in `container` (palette,
// canvas, properties panel) and its preview in `previewContainer`.
// `onChange()` runs after every edit.
export async function mount(container, previewContainer, schema, onChange) {
  destroy();
  const mine = ++generation;
  // Each in its own element, so a later mount replaces an earlier one whole,
  // however far the earlier one got.
  const host = document.createElement('div');
  host.className = 'fjs-host';
  const previewHost = document.createElement('div');
  container.replaceChildren(host);
  previewContainer.replaceChildren(previewHost);
  const made = new FormEditor({ container: host });
  const shown = new Form({ container: previewHost });
  editor = made;
  preview = shown;
  const parsed = JSON.parse(schema);
  await made.importSchema(parsed);
  await shown.importSchema(parsed);
  if (mine !== generation) {
    made.destroy();
    shown.destroy();
    host.remove();
    previewHost.remove();
    return;
  }
  made.on('changed', () => {
    onChange();
    // The preview follows the editor a moment after the last edit: importing
    // on every keystroke would fight the editor for the main thread.
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreview, 250);
  });
}

async function refreshPreview() {
  if (!editor || !preview) return;
  try {
    await preview.importSchema(editor.saveSchema());
  } catch {
    // A half-made field (a select without values, say) cannot be previewed
    // yet; the preview keeps its last good state.
  }
}

// The edited form as form-js JSON.
export function save() {
  if (!editor) throw new Error('the form editor is not mounted');
  return JSON.stringify(editor.saveSchema(), null, 2);
}

// Removes the editor and the preview from the page.
export function destroy() {
  clearTimeout(previewTimer);
  if (editor) {
    editor.destroy();
    editor = null;
  }
  if (preview) {
    preview.destroy();
    preview = null;
  }
}
