// The facade over the bpmn-js modeler (camunda-bpmn-js's Camunda 7 build:
// bpmn-js, the Camunda 7 properties panel and behaviours). The Rust side
// (designer/src/widgets/modeler.rs) sees only these functions, with strings,
// JSON and DOM elements across the boundary. One modeler per page.

import lintModule from 'bpmn-js-bpmnlint';
import tokenSimulationModule from 'bpmn-js-token-simulation';
import { bpmnlint } from './lint.js';

let modeler = null;
let mountedWith = null;
let overlayIds = [];
let marked = [];

function need() {
  if (!modeler) throw new Error('the modeler is not mounted');
  return modeler;
}

// Creates the modeler in `canvas`, its properties panel in `panel`.
// `onChange()` is called after every edit (and undo/redo); `onSelect(id)`
// with the selected element's id, or '' when nothing is selected.
export function mount(canvas, panel, onChange, onSelect) {
  destroy();
  mountedWith = [canvas, panel, onChange, onSelect];
  // eslint-disable-next-line no-undef
  modeler = new BpmnModeler({
    container: canvas,
    propertiesPanel: { parent: panel },
    additionalModules: [lintModule, tokenSimulationModule],
    // Camunda Modeler moves a diagram near the origin when it saves; the
    // designer keeps the layout exactly as the file had it.
    alignToOrigin: { alignOnSave: false },
    linting: { bpmnlint, active: true },
  });
  modeler.on('commandStack.changed', () => onChange());
  modeler.on('selection.changed', (e) => {
    const first = e.newSelection && e.newSelection[0];
    onSelect(first ? first.id : '');
  });
}

// Imports BPMN XML; resolves to a JSON array of import warnings (strings).
export async function load(xml) {
  const m = need();
  clearMarkers();
  let result;
  try {
    result = await m.importXML(xml);
  } catch (e) {
    // bpmn-js is left half-cleared by a refused file; a fresh modeler in the
    // same place shows nothing half-imported, and the next load starts clean.
    mount(...mountedWith);
    throw e;
  }
  linkFlows(m);
  clearMarkers();
  try {
    m.get('canvas').zoom('fit-viewport', 'auto');
  } catch {
    // A diagram with nothing drawn has no extent to fit.
  }
  return JSON.stringify((result.warnings || []).map((w) => String(w.message || w)));
}

// Files from some tools leave out a node's <incoming>/<outgoing>, which the
// spec derives from the flows' sourceRef/targetRef; bpmn-js and bpmnlint read
// them, so they are filled in from the flows (without an undoable command).
function linkFlows(m) {
  for (const el of m.get('elementRegistry').getAll()) {
    const bo = el.businessObject;
    if (!bo || bo.$type !== 'bpmn:SequenceFlow') continue;
    for (const [end, list] of [[bo.sourceRef, 'outgoing'], [bo.targetRef, 'incoming']]) {
      if (!end || typeof end.get !== 'function') continue;
      const refs = end.get(list);
      if (!refs.includes(bo)) refs.push(bo);
    }
  }
}

// The diagram as BPMN XML.
export async function save() {
  const { xml } = await need().saveXML({ format: true });
  return xml;
}

function clearMarkers() {
  if (!modeler) return;
  const canvas = modeler.get('canvas');
  const overlays = modeler.get('overlays');
  for (const id of overlayIds) overlays.remove(id);
  for (const [el, cls] of marked) canvas.removeMarker(el, cls);
  overlayIds = [];
  marked = [];
}

function mark(id, cls, badge, title) {
  const m = need();
  const el = m.get('elementRegistry').get(id);
  if (!el) return false;
  m.get('canvas').addMarker(el, cls);
  marked.push([el, cls]);
  if (badge) {
    const div = document.createElement('div');
    div.className = 'mr-badge ' + cls;
    div.textContent = badge;
    div.title = title;
    div.setAttribute('role', 'note');
    div.setAttribute('aria-label', title);
    overlayIds.push(m.get('overlays').add(el, { position: { top: -10, right: 10 }, html: div }));
  }
  return true;
}

// Marks elements. `json`: {"problems":[{elementId, severity, message}],
// "diff":{"added":[ids],"changed":[ids]}, "path":[ids], "unreached":[ids]}. Replaces earlier marks; returns
// the ids not found on the diagram, as a JSON array.
export function setMarkers(json) {
  clearMarkers();
  const spec = JSON.parse(json);
  const missing = [];
  const byElement = new Map();
  for (const p of spec.problems || []) {
    if (!p.elementId) continue;
    const list = byElement.get(p.elementId) || [];
    list.push(p);
    byElement.set(p.elementId, list);
  }
  for (const [id, list] of byElement) {
    const worst = list.some((p) => p.severity === 'error') ? 'error' : 'warning';
    const title = list.map((p) => `${p.code}: ${p.message}`).join('\n');
    if (!mark(id, 'mr-' + worst, worst === 'error' ? '!' : '?', title)) missing.push(id);
  }
  const diff = spec.diff || {};
  for (const id of diff.added || []) if (!mark(id, 'mr-added', '+', 'added since the deployed version')) missing.push(id);
  for (const id of diff.changed || []) if (!mark(id, 'mr-changed', '~', 'changed since the deployed version')) missing.push(id);
  for (const id of spec.path || []) if (!mark(id, 'mr-path', null, '')) missing.push(id);
  for (const id of spec.unreached || []) if (!mark(id, 'mr-unreached', null, '')) missing.push(id);
  return JSON.stringify(missing);
}

// Selects an element and scrolls it into view.
export function select(id) {
  const m = need();
  const el = m.get('elementRegistry').get(id);
  if (!el) return false;
  m.get('selection').select(el);
  m.get('canvas').scrollToElement(el);
  return true;
}

function scripted(id) {
  const el = need().get('elementRegistry').get(id);
  if (!el) return null;
  const bo = el.businessObject;
  if (bo.$type === 'bpmn:SequenceFlow' && bo.conditionExpression && !bo.conditionExpression.get('camunda:resource')) {
    return { el, kind: 'condition', text: bo.conditionExpression.body || '', target: bo.conditionExpression };
  }
  if (bo.$type === 'bpmn:ScriptTask' && !bo.get('camunda:resource')) {
    return { el, kind: 'script', text: bo.script || '', target: null };
  }
  return null;
}

// The Rhai an element carries inline, as JSON {"kind":"condition"|"script","text":…},
// or "null" (none, or a camunda:resource file).
export function scriptOf(id) {
  const s = scripted(id);
  return JSON.stringify(s ? { kind: s.kind, text: s.text } : null);
}

// Replaces that text (one undoable command).
export function setScript(id, text) {
  const s = scripted(id);
  if (!s || s.text === text) return;
  const modeling = need().get('modeling');
  if (s.target) modeling.updateModdleProperties(s.el, s.target, { body: text });
  else modeling.updateProperties(s.el, { script: text });
}

// The form an element declares, as JSON {"formRef": …} for a user task or a
// start event ("" when it names none), or "null" for an element that cannot
// have a form.
export function formOf(id) {
  const el = need().get('elementRegistry').get(id);
  if (!el) return 'null';
  const bo = el.businessObject;
  if (bo.$type !== 'bpmn:UserTask' && bo.$type !== 'bpmn:StartEvent') return 'null';
  return JSON.stringify({ formRef: bo.get('camunda:formRef') || '' });
}

// Sets the element's camunda:formRef (one undoable command).
export function setFormRef(id, formRef) {
  const m = need();
  const el = m.get('elementRegistry').get(id);
  if (!el) return false;
  m.get('modeling').updateProperties(el, { 'camunda:formRef': formRef });
  return true;
}

// Removes the modeler from the page.
export function destroy() {
  if (modeler) {
    modeler.destroy();
    modeler = null;
  }
  for (const el of mountedWith ? [mountedWith[0], mountedWith[1]] : []) el.replaceChildren();
  overlayIds = [];
  marked = [];
}
