// The designer walk, in Debian's Chromium against a real `millrace serve`
// (started by tests/browser/run.sh, which sets MILLRACE_URL and
// MILLRACE_ADMIN_PASSWORD): an analyst changes the support-case process in
// the browser, breaks and fixes a condition, uploads a broken file; an
// administrator reviews the diff and deploys; running instances stay on
// their version; a staff user cannot open the designer. A screenshot of each
// step goes to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN_PASSWORD, BASE, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const KEY = 'support-case-reactivation';

// Clicks a diagram element as a person would: a shape near its bottom-right
// corner (its centre may lie under a sequence flow, its top corners under
// badges), a connection on its line.
async function clickElement(page, id) {
  const el = page.locator(`.djs-element[data-element-id="${id}"]`);
  // A straight connection has no height, which Playwright calls hidden.
  await el.waitFor({ state: 'attached' });
  const isShape = await el.evaluate((e) => e.classList.contains('djs-shape'));
  const box = await el.locator('.djs-hit').first().boundingBox();
  const [x, y] = isShape ? [box.x + box.width - 12, box.y + box.height - 12] : [box.x + box.width / 2, box.y + box.height / 2];
  await page.mouse.click(x, y);
}

// Opens a group of the properties panel (its header is a third-party widget).
async function openGroup(page, name) {
  const panel = page.getByRole('complementary', { name: 'Properties' });
  const header = panel.locator('.bio-properties-panel-group-header', { hasText: name }).first();
  await header.waitFor();
  if (!(await header.evaluate((h) => h.classList.contains('open')))) await header.click();
}

async function waitSaved(page) {
  await page.getByRole('status').filter({ hasText: /^Saved · revision \d+/ }).waitFor({ timeout: 15000 });
}

before(async () => {
  await launch();
  for (const [name, role, groups] of [['ana', 'analyst', []], ['bea', 'analyst', []], ['sam', 'staff', ['back-office']]]) {
    const r = await adminApi('POST', '/api/users', { name, password: `${name}-password-1`, role, groups });
    assert.equal(r.status, 204, `user ${name} is created: ${JSON.stringify(r.body)}`);
  }
});

after(closeBrowser);

let before_v1;

test('an instance started before the change runs version 1', async () => {
  const r = await adminApi('POST', `/api/process-definitions/${KEY}/start`, {
    variables: { paymentDate: '2024-11-01T10:00:00Z' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  before_v1 = r.body.id;
  const i = await adminApi('GET', `/api/process-instances/${before_v1}`);
  assert.equal(i.body.version, 1);
});

test('an analyst adds a user task with a candidate group, and it survives closing the page', async () => {
  const page = await newPage();
  await signIn(page, 'ana', 'ana-password-1');
  assert.equal(new URL(page.url()).pathname, '/designer', 'an analyst starts in the designer');
  const open = page.getByRole('link', { name: 'Open Support case: payment reactivation' });
  await open.waitFor();
  await shot(page, '01-library');
  await open.click();
  await page.waitForURL(`**/designer/${KEY}`);
  await page.getByRole('status').filter({ hasText: 'Deployed version, no draft yet' }).waitFor();
  await page.locator('[data-element-id="Task_CloseCase"]').waitFor();
  await shot(page, '02-modeler');

  // Before any change, the process's scenarios pass against it.
  await page.getByRole('button', { name: 'Run scenarios' }).click();
  const scenarios = page.getByRole('region', { name: 'Scenarios' });
  await scenarios.getByText('3 of 3 passed').waitFor({ timeout: 30000 });
  await shot(page, '02b-scenarios-pass');

  // Append a task after "Close case", make it a user task, name it, offer it to a group.
  await clickElement(page, 'Task_CloseCase');
  await page.getByTitle('Append task').click();
  await page.keyboard.type('Check documents');
  await clickElement(page, 'Task_Reactivate');
  const created = page.locator('.djs-element.djs-shape', { hasText: 'Check documents' });
  const createdId = await created.getAttribute('data-element-id');
  await clickElement(page, createdId);
  await page.getByTitle(/Change (element|type)/).click();
  await page.locator('.djs-popup').getByText('User task', { exact: true }).click();
  await openGroup(page, 'User assignment');
  await page.getByLabel('Candidate groups').fill('back-office');
  await page.getByLabel('Candidate groups').blur();
  await waitSaved(page);
  // bpmnlint (recommended rules) runs in the browser: the new task has no
  // outgoing flow, an implicit end, and is flagged on the canvas.
  await page.locator(`.djs-overlays[data-container-id="${createdId}"] .bjsl-overlay`).first()
    .waitFor({ state: 'attached', timeout: 10000 });
  assert.match(await page.locator('.bjsl-button').textContent(), /\d+ (Error|Warning)s?/);
  await shot(page, '03-user-task-saved');
  await page.context().close();

  // Reopened: the draft has the task and its group.
  const again = await newPage();
  await signIn(again, 'ana', 'ana-password-1', `/designer/${KEY}`);
  await waitSaved(again);
  const task = again.locator('.djs-element.djs-shape', { hasText: 'Check documents' });
  await task.waitFor();
  await clickElement(again, await task.getAttribute('data-element-id'));
  await openGroup(again, 'User assignment');
  assert.equal(await again.getByLabel('Candidate groups').inputValue(), 'back-office');
  await shot(again, '04-reopened');
  // Who may start the process is set in the same panel, on the process itself.
  await again.evaluate((id) => window.MillraceModeler.select(id), KEY);
  await openGroup(again, 'Candidate starter');
  assert.equal(await again.getByLabel('Candidate starter groups').inputValue(), 'call-centre-representatives');
  await shot(again, '04b-candidate-starters');
  // The draft leaves as a file Camunda Modeler opens: the BPMN with its camunda: extensions.
  const [file] = await Promise.all([
    again.waitForEvent('download'),
    again.getByRole('button', { name: 'Download .bpmn' }).click(),
  ]);
  assert.equal(file.suggestedFilename(), `${KEY}.bpmn`);
  const text = readFileSync(await file.path(), 'utf8');
  assert.match(text, /camunda:candidateGroups="back-office"/);
  assert.match(text, /<bpmndi:BPMNDiagram/);
  await again.context().close();
});

test('a broken condition is marked on its flow and listed; fixing it clears both', async () => {
  const page = await newPage();
  await signIn(page, 'ana', 'ana-password-1', `/designer/${KEY}`);
  await waitSaved(page);
  await clickElement(page, 'Flow_Approved');
  // The condition opens in the Rhai code editor; the server compiles it as it is typed.
  const editor = page.getByRole('textbox', { name: 'Rhai condition of Flow_Approved' });
  await editor.waitFor();
  assert.equal((await editor.textContent()).trim(), 'approved == true');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('approved == = true');
  const compiled = page.getByRole('region', { name: 'Rhai condition of Flow_Approved' }).getByRole('status');
  await compiled.filter({ hasText: /^Line 1, column 13: / }).waitFor({ timeout: 15000 });
  await page.locator('.cm-lintRange-error').first().waitFor();
  // …and, once saved, the engine's validator marks the flow and lists it.
  const problem = page.getByRole('button', { name: /error E010 — Flow_Approved:/ });
  await problem.waitFor({ timeout: 15000 });
  assert.match(await problem.textContent(), /line 1, column 13/);
  await page.locator('.djs-element.mr-error[data-element-id="Flow_Approved"]').waitFor({ state: 'attached' });
  await openGroup(page, 'Condition');
  assert.equal(await page.getByLabel('Script', { exact: true }).inputValue(), 'approved == = true',
    'the properties panel shows the same text');
  await shot(page, '05-broken-condition');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('approved == true');
  await compiled.filter({ hasText: 'Compiles.' }).waitFor();
  await problem.waitFor({ state: 'detached', timeout: 15000 });
  assert.equal(await page.locator('.djs-element.mr-error').count(), 0);
  await shot(page, '06-fixed');

  // The new task after "Close case" keeps the approved case from completing:
  // its scenario fails at the step that expects the end, and shows its path.
  await waitSaved(page);
  await page.getByRole('button', { name: 'Run scenarios' }).click();
  const scenarios = page.getByRole('region', { name: 'Scenarios' });
  await scenarios.getByText('2 of 3 passed').waitFor({ timeout: 30000 });
  const failed = scenarios.getByRole('button', { name: 'reactivation-approved.scenario.json failed: show its path' });
  await failed.click();
  assert.match(await scenarios.textContent(), /expectState completed — failed/);
  await page.locator('.djs-element.mr-path[data-element-id="Task_CloseCase"]').waitFor({ state: 'attached' });
  await shot(page, '06b-scenario-fails');
  await page.context().close();
});

test('two analysts on one draft: the later save is refused and says who saved, nothing is overwritten', async () => {
  const ana = await newPage();
  await signIn(ana, 'ana', 'ana-password-1', `/designer/${KEY}`);
  await waitSaved(ana);
  const bea = await newPage();
  await signIn(bea, 'bea', 'bea-password-1', `/designer/${KEY}`);
  await waitSaved(bea);
  const before = (await adminApi('GET', `/api/drafts/${KEY}`)).body.revision;

  // Ana moves a task (arrow keys move the selection); her save goes through.
  await clickElement(ana, 'Task_CloseCase');
  await ana.keyboard.press('Shift+ArrowDown');
  await ana.getByRole('status').filter({ hasText: `Saved · revision ${before + 1}` }).waitFor({ timeout: 15000 });

  // Bea, still on the revision she opened, moves another: refused, and told by whom.
  await clickElement(bea, 'Task_Reactivate');
  await bea.keyboard.press('Shift+ArrowDown');
  const alert = bea.getByRole('alert');
  await alert.filter({ hasText: /saved by ana/ }).waitFor({ timeout: 15000 });
  await bea.getByRole('status').filter({ hasText: 'Not saved: changed by someone else' }).waitFor();
  await shot(bea, '06c-conflict');
  const after = (await adminApi('GET', `/api/drafts/${KEY}`)).body;
  assert.equal(after.revision, before + 1, 'the refused save wrote nothing');
  assert.equal(after.updatedBy, 'ana');

  // Reloading shows Ana's revision, and saving works again.
  await bea.getByRole('button', { name: 'Reload the draft' }).click();
  await bea.getByRole('status').filter({ hasText: `Saved · revision ${before + 1}` }).waitFor();
  await ana.context().close();
  await bea.context().close();
});

test('an uploaded file that is not XML is refused with the parser\'s line and column', async () => {
  const page = await newPage();
  await signIn(page, 'ana', 'ana-password-1', '/designer');
  await page.getByText('New process').click();
  await page.getByLabel('Upload a .bpmn file').setInputFiles({
    name: 'broken.bpmn',
    mimeType: 'application/xml',
    buffer: Buffer.from('<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">\n  <bpmn:process id="x">\n</bpmn:definitions>\n'),
  });
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /cannot be read at line \d+, column \d+/);
  await shot(page, '07-broken-upload');
  await page.context().close();
});

test('an administrator reviews the diff on the diagram and deploys version 2', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, `/designer/${KEY}`);
  await waitSaved(page);
  await page.getByRole('button', { name: 'Review changes' }).click();
  const review = page.getByRole('region', { name: 'Changes to the deployed version' });
  await review.waitFor();
  assert.match(await review.textContent(), /Added: .*Activity_/);
  await page.locator('.djs-element.mr-added').first().waitFor({ state: 'attached' });
  await page.getByLabel('Deployment note').fill('Back office checks documents after closing');
  await shot(page, '08-review');
  await page.getByRole('button', { name: 'Deploy as version 2' }).click();
  await page.getByRole('status').filter({ hasText: `Deployed ${KEY} version 2.` }).waitFor();
  await shot(page, '09-deployed');
  await page.context().close();

  const versions = await adminApi('GET', `/api/process-definitions?key=${KEY}`);
  assert.deepEqual(versions.body.map((v) => v.version), [2, 1]);
  assert.equal(versions.body[0].note, 'Back office checks documents after closing');
  assert.equal(versions.body[0].deployedBy, 'admin');
  const old = await adminApi('GET', `/api/process-instances/${before_v1}`);
  assert.equal(old.body.version, 1, 'the instance started before stays on version 1');
  const fresh = await adminApi('POST', `/api/process-definitions/${KEY}/start`, {
    variables: { paymentDate: '2024-11-01T10:00:00Z' },
  });
  const started = await adminApi('GET', `/api/process-instances/${fresh.body.id}`);
  assert.equal(started.body.version, 2, 'a new instance runs version 2');
  // Version 1 is retired from the library: it takes no new instance; the one on it goes on.
  const lib = await newPage();
  await signIn(lib, 'admin', ADMIN_PASSWORD, '/designer');
  await lib.getByRole('button', { name: `Retire ${KEY} version 1` }).click();
  await lib.getByRole('button', { name: `Reinstate ${KEY} version 1` }).waitFor();
  await shot(lib, '09b-library-after-deploy');
  await lib.context().close();
  const retired = await adminApi('GET', `/api/process-definitions?key=${KEY}`);
  assert.deepEqual(retired.body.map((v) => v.retired), [false, true]);
  assert.equal((await adminApi('GET', `/api/process-instances/${before_v1}`)).body.state, 'active');

  const audit = await adminApi('GET', '/api/audit?limit=500');
  assert.ok(audit.body.some((a) => a.action === 'deploy' && a.outcome === 'ok' && a.actor === 'admin'
    && String(a.target).startsWith(KEY)), 'the deploy is audited');
});

test('a staff user cannot open the designer, by page or API', async () => {
  const page = await newPage();
  await signIn(page, 'sam', 'sam-password-1');
  assert.equal(new URL(page.url()).pathname, '/inbox', 'staff start in the inbox');
  assert.equal(await page.getByRole('link', { name: 'Designer' }).count(), 0, 'no Designer link for staff');
  await page.getByRole('table', { name: 'Tasks' }).or(page.getByText('No task is assigned or offered to you.')).waitFor();
  await shot(page, '10a-staff-inbox');
  const res = await page.goto(`${BASE}/designer/${KEY}`);
  assert.equal(res.status(), 403);
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  await shot(page, '10-staff-forbidden');
  const lib = await page.evaluate(async () => (await fetch('/api/library')).status);
  assert.equal(lib, 403);
  await page.context().close();
});

test('signed out, a page sends you to sign in and back', async () => {
  const page = await newPage();
  const res = await page.goto(`${BASE}/designer/${KEY}`);
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.equal(res.status(), 200);
  await page.getByLabel('User name').fill('ana');
  await page.getByLabel('Password').fill('ana-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`**/designer/${KEY}`);
  const missing = await page.goto(`${BASE}/no/such/page`);
  assert.equal(missing.status(), 404);
  await page.getByRole('heading', { name: 'Not found' }).waitFor();
  await page.context().close();
});
