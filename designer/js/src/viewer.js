// The facade over bpmn-js's navigated viewer: a deployed version's diagram,
// read-only (pan and zoom), with each element's state marked and counts on
// it — what the operations pages show of an instance. The Rust side
// (designer/src/widgets/viewer.rs) sees only these functions, with strings,
// JSON and DOM elements across the boundary. A page may show several
// diagrams (a migration shows two versions side by side): each function's
// last argument names the viewer, `main` when it is left out.

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

const viewers = new Map();

function need(slot = 'main') {
  const viewer = viewers.get(slot);
  if (!viewer) throw new Error(`the viewer ${slot} is not mounted`);
  return viewer;
}

// Creates viewer `slot` in `container`.
export function mount(container, slot = 'main') {
  destroy(slot);
  viewers.set(slot, new NavigatedViewer({ container }));
}

// Shows BPMN XML, fitted to the container. Answers the diagram's flow
// nodes as JSON, `[{ "id", "name", "type" }]` in diagram order, for pages
// that let one pick an element.
export async function load(xml, slot = 'main') {
  const v = need(slot);
  await v.importXML(xml);
  v.get('canvas').zoom('fit-viewport', 'auto');
  const nodes = v.get('elementRegistry').filter((el) =>
    el.businessObject && el.businessObject.$instanceOf('bpmn:FlowNode') && el.type !== 'label');
  return JSON.stringify(nodes.map((el) => ({
    id: el.id,
    name: el.businessObject.name || '',
    type: el.type.replace('bpmn:', ''),
  })));
}

// Calls `callback(id)` when a flow node is clicked (one callback per viewer).
export function onClick(callback, slot = 'main') {
  const v = need(slot);
  v.get('eventBus').on('element.click', (e) => {
    const bo = e.element.businessObject;
    if (bo && bo.$instanceOf('bpmn:FlowNode')) callback(e.element.id);
  });
}

// A heatmap: `nodes` is a JSON object of element id to `{ "heat": 0..5,
// "text": "…", "title": "…" }` (class `mr-heat-N` and a badge at the top
// right), `flows` of sequence flow id to how often it was taken (a badge at
// the flow's middle). Replaces any heatmap shown before.
export function heat(nodes, flows, slot = 'main') {
  const v = need(slot);
  const canvas = v.get('canvas');
  const registry = v.get('elementRegistry');
  const overlays = v.get('overlays');
  overlays.remove({ type: 'mr-heat' });
  for (const el of registry.getAll()) {
    for (let n = 0; n <= 5; n++) canvas.removeMarker(el, `mr-heat-${n}`);
  }
  for (const [id, h] of Object.entries(JSON.parse(nodes))) {
    if (!registry.get(id)) continue;
    canvas.addMarker(id, `mr-heat-${h.heat}`);
    if (!h.text) continue;
    const badge = document.createElement('span');
    badge.className = 'mr-heat-badge';
    badge.textContent = h.text;
    badge.title = h.title || h.text;
    overlays.add(id, 'mr-heat', { position: { top: -14, right: 0 }, html: badge });
  }
  for (const [id, n] of Object.entries(JSON.parse(flows))) {
    const flow = registry.get(id);
    if (!flow || !flow.waypoints || flow.waypoints.length < 2) continue;
    // The middle of the flow's middle segment, relative to the top left of
    // its waypoints (a connection has no x and y of its own).
    const i = Math.floor((flow.waypoints.length - 1) / 2);
    const a = flow.waypoints[i];
    const b = flow.waypoints[i + 1];
    const left = Math.min(...flow.waypoints.map((p) => p.x));
    const top = Math.min(...flow.waypoints.map((p) => p.y));
    const badge = document.createElement('span');
    badge.className = 'mr-flow-count';
    badge.textContent = String(n);
    badge.title = `taken ${n} time${n === 1 ? '' : 's'}`;
    overlays.add(id, 'mr-heat', {
      position: { left: (a.x + b.x) / 2 - left - 10, top: (a.y + b.y) / 2 - top - 18 },
      html: badge,
    });
  }
}

// Marks elements: `states` is a JSON object of element id to `active`,
// `completed` or `incident` (CSS classes `mr-active`, …); `counts` a JSON
// object of element id to a number shown at its bottom right. Ids the diagram
// does not have are skipped (an instance of another version's shape).
export function mark(states, counts, slot = 'main') {
  const v = need(slot);
  const canvas = v.get('canvas');
  const registry = v.get('elementRegistry');
  const overlays = v.get('overlays');
  overlays.remove({ type: 'mr-count' });
  for (const el of registry.getAll()) {
    for (const s of ['active', 'completed', 'incident']) canvas.removeMarker(el, `mr-${s}`);
  }
  const marked = JSON.parse(states);
  for (const [id, state] of Object.entries(marked)) {
    if (registry.get(id)) canvas.addMarker(id, `mr-${state}`);
  }
  for (const [id, n] of Object.entries(JSON.parse(counts))) {
    if (!registry.get(id)) continue;
    const badge = document.createElement('span');
    badge.className = marked[id] === 'incident' ? 'mr-count incident' : 'mr-count';
    badge.textContent = String(n);
    badge.title = `${n} token${n === 1 ? '' : 's'} here`;
    overlays.add(id, 'mr-count', { position: { bottom: 6, right: 6 }, html: badge });
  }
}

// Removes viewer `slot`, or every viewer when none is named.
export function destroy(slot) {
  for (const [name, viewer] of [...viewers]) {
    if (slot !== undefined && name !== slot) continue;
    viewer.destroy();
    viewers.delete(name);
  }
}
