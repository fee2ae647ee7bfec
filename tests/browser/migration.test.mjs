// Version migration in Debian's Chromium: an administrator opens the
// migration page from a process's instances, sees both versions side by
// side with the running instances on the old one, maps an element by hand
// and sees the preview change, then migrates: the batch page shows its
// progress and each instance's result, the one that cannot move with its
// reason. Screenshots go to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN_PASSWORD, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const fixture = (name) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const ids = [];

async function deploy(version) {
  const d = await adminApi('POST', '/api/deployments', {
    name: 'migrate-line',
    files: [{ name: 'migrate-line.bpmn', content: fixture(`migrate-line-v${version}.bpmn`) }],
  });
  assert.equal(d.status, 201, JSON.stringify(d.body));
}

before(async () => {
  await launch();
  await deploy(1);
  for (const n of [1, 2, 3, 4, 5]) {
    const r = await adminApi('POST', '/api/process-definitions/migrate-line/start', { businessKey: `exchange-${n}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  // The last one has moved on to the visit, which version 2 calls Inspect.
  const m = await adminApi('POST', `/api/process-instances/${ids[4]}/modification`, {
    instructions: [{ type: 'cancel', activityId: 'Review' }, { type: 'startBeforeActivity', activityId: 'Visit' }],
  });
  assert.equal(m.status, 204, JSON.stringify(m.body));
  await deploy(2);
});

after(closeBrowser);

test('running instances are migrated in a batch, the one that cannot move with its reason', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/operations?process=migrate-line');
  await page.getByRole('link', { name: 'Migrate instances of migrate-line' }).click();
  await page.waitForURL(/\/operations\/migrate\/migrate-line$/);
  const summary = page.locator('.migration-summary');
  await summary.filter({ hasText: '4 can move · 1 cannot' }).waitFor();
  assert.equal(await page.getByLabel('From', { exact: true }).inputValue(), '1');
  assert.equal(await page.getByLabel('To', { exact: true }).inputValue(), '2');
  const instances = page.getByRole('table', { name: 'Instances to migrate' });
  const refused = instances.locator('tr', { hasText: 'exchange-5' });
  await refused.filter({ hasText: 'Visit (Visit the site), which version 2 does not have' }).waitFor();
  // The old version with where instances stand, the new one with where they go.
  const left = page.getByRole('img', { name: 'The old version' });
  const right = page.getByRole('img', { name: 'The new version' });
  await left.locator('.djs-element.mr-active[data-element-id="Review"]').waitFor({ state: 'attached' });
  assert.equal(await left.locator('.djs-overlays[data-container-id="Review"] .mr-count').innerText(), '4');
  assert.equal(await left.locator('.djs-overlays[data-container-id="Visit"] .mr-count').innerText(), '1');
  await right.locator('.djs-element.mr-active[data-element-id="Review"]').waitFor({ state: 'attached' });
  assert.equal(await right.locator('.djs-element[data-element-id="Approve"]').count(), 1, 'version 2 is drawn on the right');
  await shot(page, 'migration-01-preview');

  // Mapped by hand, the fifth could move too; unmapped again, it cannot.
  const visit = page.getByLabel('Visit the site (Visit)');
  assert.equal(await visit.inputValue(), '', 'Visit has no counterpart by id');
  await visit.selectOption('Inspect');
  await summary.filter({ hasText: '5 can move · 0 cannot' }).waitFor();
  await right.locator('.djs-element.mr-active[data-element-id="Inspect"]').waitFor({ state: 'attached' });
  await shot(page, 'migration-02-mapped');
  await visit.selectOption('');
  await summary.filter({ hasText: '4 can move · 1 cannot' }).waitFor();

  await page.getByRole('button', { name: 'Migrate 4 instance(s)' }).click();
  await page.waitForURL(/\/operations\/batches\/[0-9a-f-]+$/);
  await page.getByRole('heading', { name: 'Migrate migrate-line from version 1 to 2' }).waitFor();
  await page.locator('.batch-counts', { hasText: '4 done · 1 failed · 0 pending' }).waitFor();
  await page.locator('.batch-state .badge', { hasText: 'done' }).waitFor();
  const items = page.getByRole('table', { name: 'Items' });
  const failed = items.locator('tr.item-failed');
  assert.equal(await failed.count(), 1);
  assert.match(await failed.innerText(), new RegExp(ids[4]));
  assert.match(await failed.innerText(), /Visit \(Visit the site\), which version 2 does not have/);
  assert.equal(await items.locator('tr.item-done').count(), 4);
  await shot(page, 'migration-03-batch');
  await page.getByLabel('Failed only').check();
  await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Items"] tbody tr').length === 1);

  // The API agrees: four on version 2, going on by its flows; the fifth as it was.
  for (const id of ids.slice(0, 4)) {
    const i = await adminApi('GET', `/api/process-instances/${id}`);
    assert.equal(i.body.version, 2, JSON.stringify(i.body));
  }
  const left5 = await adminApi('GET', `/api/process-instances/${ids[4]}`);
  assert.deepEqual([left5.body.version, left5.body.activeActivities], [1, ['Visit']]);

  // The list of batches has it, and it links back.
  await page.goto(`${new URL(page.url()).origin}/operations/batches`);
  const list = page.getByRole('table', { name: 'Batch operations' });
  await list.getByRole('link', { name: 'Migrate migrate-line from version 1 to 2' }).first().waitFor();
  await shot(page, 'migration-04-batches');
  await page.context().close();
});

test('ticked instances are cancelled as a batch with a reason', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/operations?process=migrate-line&businessKey=exchange-5');
  const table = page.getByRole('table', { name: 'Instances' });
  await table.locator('tr', { hasText: ids[4] }).waitFor();
  await page.getByRole('checkbox', { name: 'Tick exchange-5' }).check();
  const form = page.getByRole('form', { name: 'Cancel ticked instances' });
  await form.getByLabel('Why').fill('Left on version 1 by mistake');
  await shot(page, 'migration-05-cancel-ticked');
  await form.getByRole('button', { name: 'Cancel 1 ticked instance(s)' }).click();
  await page.waitForURL(/\/operations\/batches\/[0-9a-f-]+$/);
  await page.getByRole('heading', { name: 'Cancel instances' }).waitFor();
  await page.locator('.batch-counts', { hasText: '1 done · 0 failed · 0 pending' }).waitFor();
  const i = await adminApi('GET', `/api/process-instances/${ids[4]}`);
  assert.equal(i.body.state, 'terminated');
  const audit = await adminApi('GET', `/api/audit?action=cancel&target=${ids[4]}`);
  assert.equal(audit.body[0]?.detail, 'Left on version 1 by mistake', JSON.stringify(audit.body));
  await page.context().close();
});
