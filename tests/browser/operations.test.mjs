// The operations pages in Debian's Chromium: an administrator finds an
// instance stopped by an incident (its call activity calls a process not
// deployed yet), sees it marked on the diagram, deploys the missing process
// and retries (the page says it went on), sees the waiting task marked, then
// cancels another instance with a reason. A retry that fails again says so
// with the new error; the administrator sets the variable it needed and the
// retry goes on. Staff may not open the pages. Screenshots go to
// tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN_PASSWORD, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const fixture = (name) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
let stopped;
let other;

before(async () => {
  await launch();
  const d = await adminApi('POST', '/api/deployments', { name: 'ops', files: [{ name: 'ops-caller.bpmn', content: fixture('ops-caller.bpmn') }] });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  for (const key of ['a', 'b']) {
    const r = await adminApi('POST', '/api/process-definitions/ops-caller/start', { businessKey: `ops-${key}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    if (key === 'a') stopped = r.body.id; else other = r.body.id;
  }
  const u = await adminApi('POST', '/api/users', { name: 'olga', password: 'olga-password-1', role: 'staff', groups: [] });
  assert.equal(u.status, 204, JSON.stringify(u.body));
});

after(closeBrowser);

test('an incident is found, shown on the diagram, fixed by deploying and retried', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/operations?process=ops-caller&incident=1');
  const list = page.getByRole('table', { name: 'Instances' });
  await list.waitFor();
  assert.equal(await list.locator('tbody tr').count(), 2, 'both instances stopped at the call');
  await page.getByRole('link', { name: 'Operations' }).waitFor();
  await shot(page, 'operations-01-incidents');
  await list.getByRole('link', { name: stopped }).click();
  const incidents = page.getByRole('table', { name: 'Incidents' });
  await incidents.getByText('the called process "ops-callee" is not deployed').waitFor();
  await page.locator('.djs-element.mr-incident[data-element-id="Read"]').waitFor({ state: 'attached' });
  await page.locator('.djs-element.mr-completed[data-element-id="Prepare"]').waitFor({ state: 'attached' });
  await shot(page, 'operations-02-incident-on-diagram');

  const d = await adminApi('POST', '/api/deployments', { name: 'fix', files: [{ name: 'ops-callee.bpmn', content: fixture('ops-callee.bpmn') }] });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  await incidents.getByRole('button', { name: 'Retry' }).click();
  await page.getByRole('status').filter({ hasText: 'Retried: the work went on.' }).waitFor();
  await page.getByText('None open.').waitFor();
  await page.locator('.djs-element.mr-active[data-element-id="Review"]').waitFor({ state: 'attached' });
  assert.equal(await page.locator('.djs-overlays[data-container-id="Review"] .mr-count').innerText(), '1');
  await shot(page, 'operations-03-retried');
  const i = await adminApi('GET', `/api/process-instances/${stopped}`);
  assert.deepEqual(i.body.activeActivities, ['Review']);
  await page.context().close();
});

test('an instance is cancelled with a reason, kept in the audit trail', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, `/operations/instances/${other}`);
  const form = page.getByRole('form', { name: 'Cancel the instance' });
  await form.getByLabel('Reason').fill('Customer withdrew the request');
  await form.getByRole('button', { name: 'Cancel instance' }).click();
  await page.getByRole('status').filter({ hasText: 'The instance is cancelled.' }).waitFor();
  await page.locator('dd.state.terminated').waitFor();
  await shot(page, 'operations-04-cancelled');
  const i = await adminApi('GET', `/api/process-instances/${other}`);
  assert.equal(i.body.state, 'terminated');
  const audit = await adminApi('GET', '/api/audit');
  assert.ok(audit.body.some((a) => a.action === 'cancel' && a.target === other), JSON.stringify(audit.body.slice(0, 5)));
  await page.context().close();
});

test('a retry that meets an error again says so with the new error', async () => {
  const d = await adminApi('POST', '/api/deployments', { name: 'divide', files: [{ name: 'ops-divide.bpmn', content: `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <process id="ops-divide" isExecutable="true">
    <startEvent id="S"/><sequenceFlow id="F1" sourceRef="S" targetRef="Divide"/>
    <scriptTask id="Divide" scriptFormat="rhai"><script>let share = 100 / parts;</script></scriptTask>
    <sequenceFlow id="F2" sourceRef="Divide" targetRef="E"/><endEvent id="E"/>
  </process>
</definitions>` }] });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  const r = await adminApi('POST', '/api/process-definitions/ops-divide/start', { variables: { parts: 0 } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, `/operations/instances/${r.body.id}`);
  const incidents = page.getByRole('table', { name: 'Incidents' });
  await incidents.getByRole('button', { name: 'Retry' }).click();
  await page.getByRole('status').filter({ hasText: /^Retried, and it failed again: .*zero/i }).waitFor();
  await shot(page, 'operations-05-failed-again');
  // Fix the data, retry: the work goes on and the instance completes.
  const set = page.getByRole('form', { name: 'Set a variable' });
  await set.getByLabel('Name').fill('parts');
  await set.getByLabel('Value (JSON)').fill('4');
  await set.getByRole('button', { name: 'Set variable' }).click();
  await page.getByRole('status').filter({ hasText: 'parts is set' }).waitFor();
  await page.getByRole('table', { name: 'Variables' }).getByRole('cell', { name: '4', exact: true }).waitFor();
  await incidents.getByRole('button', { name: 'Retry' }).click();
  await page.getByRole('status').filter({ hasText: 'Retried: the work went on.' }).waitFor();
  await page.locator('dd.state.completed').waitFor();
  await shot(page, 'operations-06-fixed-and-retried');
  const i = await adminApi('GET', `/api/process-instances/${r.body.id}`);
  assert.equal(i.body.variables.share, 25);
  await page.context().close();
});

test('staff may not open the operations pages', async () => {
  const page = await newPage();
  await signIn(page, 'olga', 'olga-password-1', '/operations');
  await page.getByRole('heading', { name: /not allowed/i }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Operations' }).count(), 0);
  await page.context().close();
});
