// Forms through the browser: an analyst gives a user task a form-js form in
// the designer (palette, properties, live preview), it is saved with the
// draft and is there after a reload; once deployed, staff fill it in the
// form-js viewer on the task page, the form's own rules stop an incomplete
// submission, and completing it sets the variables. A screenshot of each
// step goes to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const KEY = 'meter-reading';
const XML = readFileSync(new URL('./fixtures/meter-reading.bpmn', import.meta.url), 'utf8');

before(async () => {
  await launch();
  for (const [name, role, groups] of [['fa', 'analyst', []], ['mr', 'staff', ['meter-readers']]]) {
    const r = await adminApi('POST', '/api/users', { name, password: `${name}-password-12`, role, groups });
    assert.equal(r.status, 204, JSON.stringify(r.body));
  }
  const created = await adminApi('POST', '/api/drafts', { xml: XML });
  assert.equal(created.status, 201, JSON.stringify(created.body));
});

after(closeBrowser);

// Drags a component from the form editor's palette onto its canvas (draggle
// follows the mouse, not HTML drag events).
async function dragToForm(page, type) {
  const from = await page.locator(`.fjs-palette-field[data-field-type="${type}"]`).boundingBox();
  const to = await page.getByLabel('Form editor').locator('.fjs-form').boundingBox();
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(from.x + from.width, from.y + 10, { steps: 5 });
  await page.mouse.move(to.x + to.width / 2, to.y + 40, { steps: 10 });
  await page.mouse.up();
}

async function selectTask(page) {
  const task = page.locator('[data-element-id="Task_Read"]').first();
  await task.waitFor();
  await task.click();
}

test('an analyst adds a form to a user task; it is saved with the draft and there after a reload', async () => {
  const page = await newPage();
  await signIn(page, 'fa', 'fa-password-12', `/designer/${KEY}`);
  await selectTask(page);
  await page.getByRole('button', { name: 'Add a form to Task_Read' }).click();
  const dialog = page.getByRole('dialog', { name: 'Form forms/Task_Read.form' });
  await dialog.waitFor();
  await dragToForm(page, 'number');
  const props = dialog.locator('.fjs-properties-container');
  await props.getByText('General', { exact: true }).click();
  await props.getByLabel('Field label').fill('Meter reading');
  await props.getByLabel('Key', { exact: true }).fill('reading');
  await props.getByText('Validation', { exact: true }).click();
  await props.getByLabel('Required').check();
  // The preview follows the editor.
  const preview = page.getByRole('region', { name: 'Form preview' });
  await preview.getByText('Meter reading').waitFor();
  await page.getByRole('status').filter({ hasText: /^Saved · revision/ }).waitFor();
  await shot(page, 'forms-01-editor');

  const draft = await adminApi('GET', `/api/drafts/${KEY}`);
  assert.match(draft.body.xml, /camunda:formRef="Task_Read"/, 'the task names its form');
  const form = draft.body.forms.find((f) => f.name === 'forms/Task_Read.form');
  assert.ok(form, JSON.stringify(draft.body.forms));
  const field = JSON.parse(form.content).components.find((c) => c.key === 'reading');
  assert.equal(field.type, 'number');
  assert.equal(field.validate.required, true);

  await page.reload();
  await selectTask(page);
  await page.getByRole('button', { name: 'Edit form Task_Read' }).click();
  await page.getByRole('region', { name: 'Form preview' }).getByText('Meter reading').waitFor();
  await shot(page, 'forms-02-reopened');
  await page.getByRole('button', { name: 'Close form' }).click();
  assert.equal(await page.getByRole('dialog').count(), 0);
  await page.context().close();
});

test('a broken form is refused with the file and the reason, and nothing is saved', async () => {
  const draft = (await adminApi('GET', `/api/drafts/${KEY}`)).body;
  const r = await adminApi('PUT', `/api/drafts/${KEY}`, {
    xml: draft.xml, revision: draft.revision, forms: [{ name: 'forms/Task_Read.form', content: '{"components": [' }],
  });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.field, 'forms[0].content');
  assert.match(r.body.reason, /forms\/Task_Read\.form is not JSON: .*line 1, column/);
  const bad = await adminApi('PUT', `/api/drafts/${KEY}`, {
    xml: draft.xml, revision: draft.revision, forms: [{ name: '../x.form', content: '{"components":[]}' }],
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'forms[0].name');
  const after = (await adminApi('GET', `/api/drafts/${KEY}`)).body;
  assert.equal(after.revision, draft.revision);
  assert.deepEqual(after.forms, draft.forms);
});

test('deployed, the form is filled in the form-js viewer: its rules first, then the variables are set', async () => {
  const draft = (await adminApi('GET', `/api/drafts/${KEY}`)).body;
  const deployed = await adminApi('POST', `/api/drafts/${KEY}/deploy`, { note: 'meter reading form', revision: draft.revision });
  assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
  const started = await adminApi('POST', `/api/process-definitions/${KEY}/start`, { businessKey: 'MR-1' });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const instance = started.body.id;

  const page = await newPage();
  await signIn(page, 'mr', 'mr-password-12');
  const tasks = await page.evaluate(async (id) => (await (await fetch(`/api/tasks?instanceId=${id}`)).json()), instance);
  assert.equal(tasks.length, 1);
  await page.goto(`${BASE}/tasks/${tasks[0].id}`);
  await page.getByRole('button', { name: 'Claim' }).click();
  await page.getByRole('button', { name: 'Give back' }).waitFor();
  const reading = page.getByLabel('Meter reading');
  await reading.waitFor();

  // Empty: the form's own rule stops it in the browser, on the field.
  await page.getByRole('button', { name: 'Complete' }).click();
  await page.locator('.fjs-form-field-error').first().waitFor();
  await shot(page, 'forms-03-viewer-required');
  const still = await adminApi('GET', `/api/process-instances/${instance}`);
  assert.deepEqual(still.body.activeActivities, ['Task_Read'], 'nothing was sent');

  await reading.fill('4711');
  await shot(page, 'forms-04-viewer-filled');
  await page.getByRole('button', { name: 'Complete' }).click();
  await page.waitForURL('**/inbox');
  await page.context().close();
  const done = await adminApi('GET', `/api/process-instances/${instance}`);
  assert.equal(done.body.state, 'completed', JSON.stringify(done.body));
  assert.equal(done.body.variables.reading, 4711);
});
