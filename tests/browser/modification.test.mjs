// Instance modification and a version's heatmap in Debian's Chromium: an
// administrator moves a token from one task to the next by picking the
// element on the diagram, sees it marked there and in the history with who
// did it; then opens the version's heatmap and finds the same numbers the
// API gives (tokens per element now, times each flow was taken).
// Screenshots go to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN_PASSWORD, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const fixture = (name) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const ids = [];

before(async () => {
  await launch();
  const d = await adminApi('POST', '/api/deployments', { name: 'ops-line', files: [{ name: 'ops-line.bpmn', content: fixture('ops-line.bpmn') }] });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  for (const n of [1, 2, 3]) {
    const r = await adminApi('POST', '/api/process-definitions/ops-line/start', { businessKey: `line-${n}`, variables: { meterNumber: `MTR-LINE-${n}` } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
});

after(closeBrowser);

test('a token is moved on the diagram and the history says who moved it', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, `/operations/instances/${ids[0]}`);
  await page.locator('.djs-element.mr-active[data-element-id="Review"]').waitFor({ state: 'attached' });
  const form = page.getByRole('form', { name: 'Modify the instance' });
  await form.getByLabel('Cancel the token at').selectOption('Review');
  // Picking the element on the diagram fills in where the token starts.
  await page.locator('.djs-element[data-element-id="Visit"]').click();
  assert.equal(await form.getByLabel('Element to start at').inputValue(), 'Visit');
  await form.getByLabel('Why').fill('Reviewed on the phone with the customer');
  await shot(page, 'modification-01-chosen');
  await form.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('status').filter({ hasText: 'The tokens at Review are cancelled and one starts at Visit.' }).waitFor();
  await page.locator('.djs-element.mr-active[data-element-id="Visit"]').waitFor({ state: 'attached' });
  assert.equal(await page.locator('.djs-element.mr-active[data-element-id="Review"]').count(), 0, 'Review holds no token');
  const history = page.getByRole('table', { name: 'History' });
  await history.locator('tr', { hasText: 'activityCancelled' }).filter({ hasText: 'Review' }).filter({ hasText: 'admin' }).waitFor();
  await shot(page, 'modification-02-moved');
  const i = await adminApi('GET', `/api/process-instances/${ids[0]}`);
  assert.deepEqual(i.body.activeActivities, ['Visit']);

  // Nothing chosen: the page says what to choose and sends nothing.
  await form.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('status').filter({ hasText: 'Choose a token to cancel, an element to start at, or both.' }).waitFor();
  await page.context().close();
});

test('the heatmap shows the tokens now and the flows taken, as the API counts them', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, `/operations/instances/${ids[1]}`);
  await page.getByRole('link', { name: 'Heatmap of this version' }).click();
  await page.waitForURL(/\/operations\/heatmap\/ops-line\/1$/);
  const table = page.getByRole('table', { name: 'Elements' });
  await table.waitFor();
  const api = await adminApi('GET', '/api/process-definitions/ops-line/versions/1/heatmap');
  assert.equal(api.status, 200, JSON.stringify(api.body));
  const now = Object.fromEntries(api.body.elements.map((e) => [e.id, e.now]));
  assert.equal(now.Review, 2, JSON.stringify(api.body));
  assert.equal(now.Visit, 1, JSON.stringify(api.body));
  const row = (name) => table.locator('tr', { hasText: name });
  assert.equal(await row('Review the request (Review)').locator('td').nth(1).innerText(), '2');
  assert.equal(await row('Visit the site (Visit)').locator('td').nth(1).innerText(), '1');
  // On the diagram: the busiest element warmest, badges with the counts, flows with how often taken.
  await page.locator('.djs-element.mr-heat-5[data-element-id="Review"]').waitFor({ state: 'attached' });
  assert.equal(await page.locator('.djs-overlays[data-container-id="Review"] .mr-heat-badge').innerText(), '2');
  assert.equal(await page.locator('.djs-overlays[data-container-id="F1"] .mr-flow-count').innerText(), '3');
  const flows = page.getByRole('table', { name: 'Sequence flows' });
  assert.equal(await flows.locator('tr', { hasText: 'F1' }).locator('td').nth(1).innerText(), '3');
  await shot(page, 'modification-03-heatmap');

  // A period before anything ran: nothing taken, the tokens now are still shown.
  await page.getByLabel('From').fill('2020-01-01');
  await page.getByLabel('To').fill('2020-01-31');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/from=2020-01-01/);
  await page.getByRole('table', { name: 'Elements' }).waitFor();
  assert.equal(await page.getByRole('table', { name: 'Sequence flows' }).locator('tbody tr').count(), 0);
  await shot(page, 'modification-04-heatmap-empty-period');
  await page.context().close();
});

test('instances are found by a variable\'s value', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/operations?process=ops-line');
  const form = page.getByRole('form', { name: 'Filter instances' });
  await form.getByLabel('Variable').fill('meterNumber');
  await form.getByLabel('equals').fill('MTR-LINE-2');
  await form.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/variable=meterNumber&value=MTR-LINE-2/);
  const list = page.getByRole('table', { name: 'Instances' });
  await list.waitFor();
  assert.equal(await list.locator('tbody tr').count(), 1);
  await list.getByRole('cell', { name: 'line-2', exact: true }).waitFor();
  await shot(page, 'modification-05-found-by-variable');
  await page.context().close();
});

test('the dashboard counts the instances started and the open tasks', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/operations?process=ops-line');
  await page.getByRole('link', { name: 'Dashboard of ops-line' }).click();
  await page.waitForURL(/\/operations\/dashboard\/ops-line$/);
  const kpis = page.getByRole('definition').first();
  await kpis.waitFor();
  const api = await adminApi('GET', '/api/process-definitions/ops-line/dashboard');
  assert.equal(api.status, 200, JSON.stringify(api.body));
  const started = api.body.days.reduce((n, d) => n + d.started, 0);
  assert.equal(started, 3);
  assert.equal(await kpis.innerText(), '3', 'Started, as the API counts it');
  await page.getByRole('img', { name: /Instances started and completed per day/ }).waitFor();
  const byDay = page.getByRole('table', { name: 'By day' });
  assert.equal(await byDay.locator('tbody tr').count(), 1, 'all three today');
  await shot(page, 'modification-06-dashboard');
  await page.context().close();
});
