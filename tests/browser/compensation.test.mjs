// Compensation in the designer, through the properties panel like every
// other element: an analyst opens a process whose card charge has a refund
// handler, points the "Delivery failed" throw event at the charge (Activity
// reference), the draft saves clean, and the deployed version refunds.
// Screenshots go to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN_PASSWORD, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const KEY = 'refund-on-failure';

before(async () => {
  await launch();
  const xml = readFileSync(new URL('./fixtures/compensation.bpmn', import.meta.url), 'utf8');
  const created = await adminApi('POST', '/api/drafts', { xml, key: KEY });
  assert.equal(created.status, 201, JSON.stringify(created.body));
});

after(closeBrowser);

test('a compensation throw names the activity it compensates in the properties panel, and the version refunds', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, `/designer/${KEY}`);
  const undo = page.locator('.djs-element[data-element-id="Undo"]');
  await undo.waitFor();
  const box = await undo.locator('.djs-hit').first().boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  const panel = page.getByRole('complementary', { name: 'Properties' });
  const header = panel.locator('.bio-properties-panel-group-header', { hasText: 'Compensation' }).first();
  await header.waitFor();
  if (!(await header.evaluate((h) => h.classList.contains('open')))) await header.click();
  const select = panel.getByLabel('Activity reference');
  await select.waitFor();
  const options = await select.locator('option').allInnerTexts();
  assert.ok(options.some((o) => o.includes('Charge the card')), `the charge is offered: ${options}`);
  await select.selectOption({ label: options.find((o) => o.includes('Charge the card')) });
  await page.getByRole('status').filter({ hasText: /^Saved · revision \d+/ }).waitFor({ timeout: 15000 });
  await shot(page, 'compensation-01-activity-ref');

  const draft = await adminApi('GET', `/api/drafts/${KEY}`);
  assert.match(draft.body.xml, /compensateEventDefinition id="CED_2" activityRef="Charge"/, draft.body.xml);
  // The engine's validator finds nothing wrong with it.
  const checked = await adminApi('POST', `/api/drafts/${KEY}/validate`, { xml: draft.body.xml });
  assert.equal(checked.status, 200, JSON.stringify(checked.body));
  const errors = (checked.body.findings ?? checked.body).filter((f) => f.severity === 'error');
  assert.deepEqual(errors, [], JSON.stringify(checked.body));

  const deployed = await adminApi('POST', `/api/drafts/${KEY}/deploy`, { note: 'refund on failure', revision: draft.body.revision });
  assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
  const started = await adminApi('POST', `/api/process-definitions/${KEY}/start`, {});
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const instance = await adminApi('GET', `/api/process-instances/${started.body.id}`);
  assert.equal(instance.body.state, 'completed', JSON.stringify(instance.body));
  assert.equal(instance.body.variables.refunded, 'yes', JSON.stringify(instance.body));
  const history = await adminApi('GET', `/api/process-instances/${started.body.id}/history`);
  const completed = history.body.filter((h) => h.event === 'activityCompleted').map((h) => h.node);
  assert.deepEqual(completed, ['Start', 'Charge', 'Refund', 'Undo', 'End']);
  await page.context().close();
});

test('removing the association to the handler is a problem the designer names on the boundary event', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, `/designer/${KEY}`);
  // The association runs down from the boundary event, then right to the
  // handler: click its downward leg, halfway.
  const boundary = await page.locator('.djs-element[data-element-id="Charge_Compensation"] .djs-hit').first().boundingBox();
  const handler = await page.locator('.djs-element[data-element-id="Refund"] .djs-hit').first().boundingBox();
  const x = boundary.x + boundary.width / 2;
  await page.mouse.click(x, (boundary.y + boundary.height + handler.y + handler.height / 2) / 2);
  await page.locator('.djs-element.selected[data-element-id="A1"]').waitFor({ state: 'attached', timeout: 5000 });
  await page.keyboard.press('Delete');
  await page.getByRole('status').filter({ hasText: /^Saved · revision \d+/ }).waitFor({ timeout: 15000 });
  const problems = page.getByText(/needs exactly one handler/);
  await problems.first().waitFor({ timeout: 15000 });
  await shot(page, 'compensation-02-no-handler');
  const text = await problems.first().innerText();
  assert.match(text, /Charge_Compensation|Undo charge|E020/, text);
  await page.context().close();
});
