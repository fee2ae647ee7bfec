// The designer's speed, as docs/PERFORMANCE.md reports it (a benchmark, not
// a test: it asserts nothing about time). Against a running server
// (MILLRACE_URL, MILLRACE_ADMIN_PASSWORD; tests/browser/bench.sh starts one):
// - a 150-element diagram: time from navigation until the modeler shows every
//   element and the properties panel (median and max of 7 loads);
// - autosave (PUT /api/drafts/{key}, which validates) of that diagram: p50 and p95 of 50;
// - bytes each page loads (JavaScript, wasm, CSS; as sent and gzipped): the
//   designer, the designer once its form editor is open (loaded on first
//   use), a task page with a form-js form (its viewer likewise), the library.
import { chromium } from 'playwright-core';
import { gzipSync } from 'node:zlib';

const BASE = process.env.MILLRACE_URL;
const PASSWORD = process.env.MILLRACE_ADMIN_PASSWORD;
const N = 150;

function diagram(key) {
  // A chain: start, 74 user tasks with a candidate group and a condition-free flow each, end.
  const tasks = (N - 2) / 2;
  let nodes = '<bpmn:startEvent id="S" />';
  let shapes = '<bpmndi:BPMNShape id="S_di" bpmnElement="S"><dc:Bounds x="100" y="100" width="36" height="36" /></bpmndi:BPMNShape>';
  let prev = 'S';
  let flows = '';
  let edges = '';
  for (let i = 0; i < tasks; i++) {
    const id = `T${i}`;
    const x = 200 + (i % 12) * 150;
    const y = 80 + Math.floor(i / 12) * 140;
    nodes += `<bpmn:userTask id="${id}" name="Task ${i}" camunda:candidateGroups="g${i % 5}" />`;
    shapes += `<bpmndi:BPMNShape id="${id}_di" bpmnElement="${id}"><dc:Bounds x="${x}" y="${y}" width="100" height="80" /></bpmndi:BPMNShape>`;
    flows += `<bpmn:sequenceFlow id="F${i}" sourceRef="${prev}" targetRef="${id}" />`;
    edges += `<bpmndi:BPMNEdge id="F${i}_di" bpmnElement="F${i}"><di:waypoint x="${x - 40}" y="${y + 40}" /><di:waypoint x="${x}" y="${y + 40}" /></bpmndi:BPMNEdge>`;
    prev = id;
  }
  nodes += '<bpmn:endEvent id="E" />';
  flows += `<bpmn:sequenceFlow id="FE" sourceRef="${prev}" targetRef="E" />`;
  shapes += '<bpmndi:BPMNShape id="E_di" bpmnElement="E"><dc:Bounds x="100" y="1100" width="36" height="36" /></bpmndi:BPMNShape>';
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://bench">
<bpmn:process id="${key}" isExecutable="true">${nodes}${flows}</bpmn:process>
<bpmndi:BPMNDiagram id="BD"><bpmndi:BPMNPlane id="BP" bpmnElement="${key}">${shapes}${edges}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>`;
}

// Records every file a page loads from /assets/: [path, bytes, gzipped].
function recordAssets(page, sizes) {
  page.on('response', async (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/assets/') && r.status() === 200) {
      try { const b = await r.body(); sizes.push([u.pathname, b.length, gzipSync(b).length]); } catch { /* redirects have no body */ }
    }
  });
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };

const login = await fetch(`${BASE}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
const me = await login.json();
const cookie = login.headers.get('set-cookie').split(';')[0];
const headers = { 'content-type': 'application/json', cookie, 'x-csrf-token': me.csrfToken };
const key = `bench-${Date.now()}`;
const xml = diagram(key);
const created = await fetch(`${BASE}/api/drafts`, { method: 'POST', headers, body: JSON.stringify({ xml }) });
if (created.status !== 201) throw new Error(`draft: ${created.status} ${await created.text()}`);
let revision = (await created.json()).revision;

const saves = [];
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  const r = await fetch(`${BASE}/api/drafts/${key}`, { method: 'PUT', headers, body: JSON.stringify({ xml, revision }) });
  const body = await r.json();
  saves.push(performance.now() - t);
  revision = body.revision;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
await context.addCookies([{ name: cookie.split('=')[0], value: cookie.split('=')[1], url: BASE }]);
const loads = [];
const bytes = {};
for (let i = 0; i < 7; i++) {
  const page = await context.newPage();
  const sizes = [];
  recordAssets(page, sizes);
  const t = performance.now();
  await page.goto(`${BASE}/designer/${key}`);
  await page.locator('.djs-element[data-element-id="E"]').waitFor({ state: 'attached' });
  await page.getByRole('complementary', { name: 'Properties' }).getByText('General').waitFor();
  loads.push(performance.now() - t);
  if (i === 0) bytes.designer = sizes;
  await page.close();
}
// The designer with the form editor open: what opening it adds.
{
  const page = await context.newPage();
  const sizes = [];
  recordAssets(page, sizes);
  await page.goto(`${BASE}/designer/${key}`);
  // A task in the middle of the diagram (the palette and minimap cover its edges).
  const task = page.locator('.djs-element[data-element-id="T30"]');
  await task.waitFor();
  await task.click();
  await page.getByRole('button', { name: 'Add a form to T30' }).click();
  await page.locator('.fjs-palette').waitFor();
  bytes.designer_with_form_editor = sizes;
  await page.close();
}
// A task page whose task has a form-js form: a process with one, deployed and started.
{
  const formKey = `${key}-form`;
  const formXml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D2" targetNamespace="http://bench">
<bpmn:process id="${formKey}" isExecutable="true"><bpmn:startEvent id="S" /><bpmn:userTask id="T" camunda:formRef="bench-form" camunda:assignee="admin" /><bpmn:endEvent id="E" />
<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="T" /><bpmn:sequenceFlow id="F2" sourceRef="T" targetRef="E" /></bpmn:process></bpmn:definitions>`;
  const form = JSON.stringify({ id: 'bench-form', type: 'default', components: [{ type: 'textfield', key: 'name', label: 'Name' }, { type: 'number', key: 'amount', label: 'Amount' }] });
  const made = await fetch(`${BASE}/api/drafts`, { method: 'POST', headers, body: JSON.stringify({ xml: formXml }) });
  const rev = (await made.json()).revision;
  const saved = await fetch(`${BASE}/api/drafts/${formKey}`, { method: 'PUT', headers, body: JSON.stringify({ xml: formXml, revision: rev, forms: [{ name: 'bench-form.form', content: form }] }) });
  const rev2 = (await saved.json()).revision;
  const dep = await fetch(`${BASE}/api/drafts/${formKey}/deploy`, { method: 'POST', headers, body: JSON.stringify({ note: 'bench', revision: rev2 }) });
  if (dep.status !== 201) throw new Error(`deploy: ${dep.status} ${await dep.text()}`);
  const started = await (await fetch(`${BASE}/api/process-definitions/${formKey}/start`, { method: 'POST', headers, body: '{}' })).json();
  const tasks = await (await fetch(`${BASE}/api/tasks?instanceId=${started.id}`, { headers })).json();
  const page = await context.newPage();
  const sizes = [];
  recordAssets(page, sizes);
  await page.goto(`${BASE}/tasks/${tasks[0].id}`);
  await page.getByLabel('Amount').waitFor();
  bytes.task_with_form = sizes;
  await page.close();
}
const lib = await context.newPage();
const libSizes = [];
recordAssets(lib, libSizes);
await lib.goto(`${BASE}/designer`);
await lib.getByRole('table', { name: 'Processes' }).waitFor();
bytes.library = libSizes;
await browser.close();

const total = (list) => list.reduce((a, [, raw, gz]) => [a[0] + raw, a[1] + gz], [0, 0]);
console.log(JSON.stringify({
  elements: N,
  open_ms: { median: Math.round(pct(loads, 50)), max: Math.round(Math.max(...loads)) },
  autosave_ms: { p50: Math.round(pct(saves, 50)), p95: Math.round(pct(saves, 95)), n: saves.length },
  designer_page: { files: bytes.designer, total_bytes: total(bytes.designer)[0], total_gzip: total(bytes.designer)[1] },
  designer_with_form_editor: { files: bytes.designer_with_form_editor, total_bytes: total(bytes.designer_with_form_editor)[0], total_gzip: total(bytes.designer_with_form_editor)[1] },
  task_page_with_form: { files: bytes.task_with_form, total_bytes: total(bytes.task_with_form)[0], total_gzip: total(bytes.task_with_form)[1] },
  library_page: { files: bytes.library, total_bytes: total(bytes.library)[0], total_gzip: total(bytes.library)[1] },
}, null, 1));
