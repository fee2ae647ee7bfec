// Token simulation in the designer, for explaining a flow: switched on, a
// token started on the start event travels through the task to the end, as
// the simulation log tells. A screenshot goes to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN_PASSWORD, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const KEY = 'meter-reading-simulated';

before(async () => {
  await launch();
  const xml = readFileSync(new URL('./fixtures/meter-reading.bpmn', import.meta.url), 'utf8');
  const created = await adminApi('POST', '/api/drafts', { xml, key: KEY });
  assert.equal(created.status, 201, JSON.stringify(created.body));
});

after(closeBrowser);

test('a token started in the simulation runs from the start event through the task to the end', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, `/designer/${KEY}`);
  await page.locator('[data-element-id="Task_Read"]').first().waitFor();
  await page.locator('.bts-toggle-mode').click();
  await page.locator('[data-container-id="Start"] .bts-context-pad[title="Trigger Event"]').first().click();
  await page.getByTitle('Toggle Simulation Log').click();
  const log = page.locator('.bts-log .bts-content');
  await log.getByText('Process finished').waitFor();
  const text = await log.innerText();
  const order = ['Process started', 'Reading due', 'Read the meter', 'Reading recorded', 'Process finished'].map((s) => text.indexOf(s));
  assert.ok(order.every((i) => i >= 0), text);
  assert.deepEqual([...order].sort((a, b) => a - b), order, `in flow order: ${text}`);
  await shot(page, 'simulation-01-finished');
  // Simulating is not editing: the draft was not saved again.
  const draft = await adminApi('GET', `/api/drafts/${KEY}`);
  assert.equal(draft.body.revision, 1);
  await page.context().close();
});
