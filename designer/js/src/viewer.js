// The facade over bpmn-js's navigated viewer: a deployed version's diagram,
// read-only (pan and zoom), with each element's state marked and counts on
// it — what the operations pages show of an instance. The Rust side
// (designer/src/widgets/viewer.rs) sees only these functions, with strings,
// JSON and DOM elements across the boundary. One viewer per page.

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

let viewer = null;

function need() {
  if (!viewer) throw new Error('the viewer is not mounted');
  return viewer;
}

// Creates the viewer in `container`.
export function mount(container) {
  destroy();
  viewer = new NavigatedViewer({ container });
}

// Shows BPMN XML, fitted to the container.
export async function load(xml) {
  const v = need();
  await v.importXML(xml);
  v.get('canvas').zoom('fit-viewport', 'auto');
}

// Marks elements: `states` is a JSON object of element id to `active`,
// `completed` or `incident` (CSS classes `mr-active`, …); `counts` a JSON
// object of element id to a number shown at its bottom right. Ids the diagram
// does not have are skipped (an instance of another version's shape).
export function mark(states, counts) {
  const v = need();
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

export function destroy() {
  if (viewer) viewer.destroy();
  viewer = null;
}
