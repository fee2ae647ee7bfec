// The incidents page in Debian's Chromium: an administrator lists the open
// incidents of one process, retries the ticked ones together and sees each
// retry's real outcome — failed again with its error, then, after the data
// of one instance is fixed, that one going on while the other fails again.
// Screenshots go to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <process id="ops-fee" isExecutable="true">
    <startEvent id="Start"/>
    <scriptTask id="Double" name="Double the fee" scriptFormat="rhai"><script>let doubled = amount * 2;</script></scriptTask>
    <userTask id="Review" name="Review"/>
    <sequenceFlow id="f1" sourceRef="Start" targetRef="Double"/>
    <sequenceFlow id="f2" sourceRef="Double" targetRef="Review"/>
  </process>
</definitions>`;
const ids = [];

before(async () => {
  await launch();
  const d = await adminApi('POST', '/api/deployments', { name: 'ops-fee', files: [{ name: 'ops-fee.bpmn', content: BPMN }] });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  for (const n of [1, 2]) {
    const r = await adminApi('POST', '/api/process-definitions/ops-fee/start', { businessKey: `fee-${n}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
});

after(closeBrowser);

test('ticked incidents are retried together, each with its own outcome', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/operations');
  await page.getByRole('link', { name: 'Open incidents' }).click();
  await page.waitForURL(/\/operations\/incidents$/);
  const form = page.getByRole('form', { name: 'Filter incidents' });
  await form.getByLabel('Process').selectOption('ops-fee');
  await form.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/process=ops-fee/);
  const table = page.getByRole('table', { name: 'Incidents' });
  await table.waitFor();
  assert.equal(await table.locator('tbody tr').count(), 2);
  await table.locator('tr', { hasText: 'Double' }).first().waitFor();
  await shot(page, 'incidents-01-listed');

  const tickAll = async () => {
    for (const box of await table.getByRole('checkbox').all()) await box.check();
  };
  await tickAll();
  await page.getByRole('button', { name: 'Retry ticked' }).click();
  const outcomes = page.getByRole('status', { name: 'Retry outcomes' });
  await outcomes.waitFor();
  assert.equal(await outcomes.locator('li', { hasText: 'failed again' }).count(), 2);

  // One instance's data is fixed; the next retry says which went on.
  const fix = await adminApi('PUT', `/api/process-instances/${ids[0]}/variables`, { variables: { amount: 21 } });
  assert.equal(fix.status, 204, JSON.stringify(fix.body));
  await table.locator('tbody tr').nth(1).waitFor();
  await tickAll();
  await page.getByRole('button', { name: 'Retry ticked' }).click();
  await outcomes.locator('li', { hasText: 'the work went on' }).waitFor();
  assert.equal(await outcomes.locator('li', { hasText: 'failed again' }).count(), 1);
  await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Incidents"] tbody tr').length === 1);
  await shot(page, 'incidents-02-retried');
  const fixed = await adminApi('GET', `/api/process-instances/${ids[0]}`);
  assert.deepEqual(fixed.body.activeActivities, ['Review']);
  await page.context().close();
});
