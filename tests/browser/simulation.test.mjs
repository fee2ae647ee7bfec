// Explaining and finding things on the canvas. Token simulation: switched on,
// a token started on the start event travels through the task to the end, as
// the simulation log tells. Search: Ctrl+F finds an element by its name and
// selects it. A screenshot of each goes to tests/browser/artifacts/.
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

test('Ctrl+F on the canvas finds an element by name and selects it', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, `/designer/${KEY}`);
  await page.locator('[data-element-id="Task_Read"]').first().waitFor();
  // Focus the canvas (an empty spot), as a user clicking into the diagram does.
  const canvas = page.getByRole('application', { name: 'Diagram' });
  const box = await canvas.boundingBox();
  await page.mouse.click(box.x + box.width - 60, box.y + box.height - 60);
  await page.keyboard.press('Control+f');
  const input = page.locator('.djs-search-input input');
  await input.waitFor();
  await input.pressSequentially('Read the', { delay: 20 });
  await page.locator('.djs-search-result').filter({ hasText: 'Read the meter' }).first().waitFor();
  await shot(page, 'search-01-found');
  await page.keyboard.press('Enter');
  await page.getByRole('complementary', { name: 'Properties' }).getByText('Read the meter').first().waitFor();
  assert.ok(await page.locator('.djs-element.selected[data-element-id="Task_Read"]').count() > 0, 'the task is selected');
  await page.context().close();
});
