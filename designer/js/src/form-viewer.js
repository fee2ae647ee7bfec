// The facade over the form-js viewer, for a task's form (camunda:formRef).
// The Rust side (designer/src/widgets/form_viewer.rs) sees only these
// functions, with strings, JSON and DOM elements across. One form per page.

import { Form } from '@bpmn-io/form-js-viewer';

let form = null;
// The server's messages still shown, by field id, with the value each was
// given for: form-js checks a field's initial value after it first renders,
// which would take the message away; it stays until that value is changed.
let serverErrors = new Map();
// Each mount's number: a mount overtaken by a newer one (the page re-rendered
// while the first was importing) removes its own form when it finishes.
let generation = 0;

// Shows the form `schema` (form-js JSON) in `container`, filled with `data`
// (a JSON object of the instance's variables the form names). `onChange()`
// runs after every edit by the user.
export async function mount(container, schema, data, onChange) {
  destroy();
  const mine = ++generation;
  // Each form in its own element, so a later mount replaces an earlier one
  // whole, however far the earlier one got.
  const host = document.createElement('div');
  container.replaceChildren(host);
  const made = new Form({ container: host });
  form = made;
  await made.importSchema(JSON.parse(schema), JSON.parse(data || '{}'));
  if (mine !== generation) {
    made.destroy();
    host.remove();
    return;
  }
  made.on('changed', () => {
    keepServerErrors();
    onChange();
  });
}

// Validates the form in the browser and returns JSON
// {"data": {…values…}, "errors": {"<field key>": ["message", …]}}.
// The errors are shown on the fields by form-js itself.
export function submit() {
  if (!form) throw new Error('the form is not mounted');
  const { data, errors } = form.submit();
  return JSON.stringify({ data, errors: byKey(errors) });
}

// What has been entered so far, as JSON (the form's rules not checked): for
// saving progress.
export function values() {
  if (!form) throw new Error('the form is not mounted');
  return JSON.stringify(form._getState().data || {});
}

// form-js keys its errors by the field's id; the server and the page speak
// of the variable (the field's key).
function byKey(errors) {
  const out = {};
  const registry = form.get('formFieldRegistry');
  for (const [id, list] of Object.entries(errors || {})) {
    const field = registry.get(id);
    out[(field && field.key) || id] = list;
  }
  return out;
}

// Shows `message` on the field whose key is `key` (a refusal from the server).
export function setError(key, message) {
  if (!form) return false;
  const field = form.get('formFieldRegistry').getAll().find((f) => f.key === key);
  if (!field) return false;
  const value = JSON.stringify((form._getState().data || {})[key] ?? null);
  serverErrors.set(field.id, { key, message, value });
  const errors = { ...(form._getState().errors || {}) };
  errors[field.id] = [message];
  form._setState({ errors });
  return true;
}

// Shows each server message again if form-js took it away while its field
// still holds the value it was given for; an edited field loses it.
function keepServerErrors() {
  if (!form || serverErrors.size === 0) return;
  const { data = {}, errors = {} } = form._getState();
  let next = null;
  for (const [id, { key, message, value }] of serverErrors) {
    if (JSON.stringify(data[key] ?? null) !== value) {
      serverErrors.delete(id);
    } else if (!errors[id]) {
      next = next || { ...errors };
      next[id] = [message];
    }
  }
  if (next) form._setState({ errors: next });
}

// Removes the form from the page.
export function destroy() {
  serverErrors = new Map();
  if (form) {
    form.destroy();
    form = null;
  }
}
