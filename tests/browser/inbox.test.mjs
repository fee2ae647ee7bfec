// Working a task in the browser, as back-office staff do: the inbox lists
// it, its page shows the form the BPMN declares (camunda:formData on "Verify
// payment received"), claiming makes it yours, the server's validation
// message lands on the field it names, and completing it moves the request
// on. A screenshot of each step goes to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const KEY = 'support-case-reactivation';

before(async () => {
  await launch();
  for (const [name, role, groups] of [['bo', 'staff', ['back-office']], ['al', 'analyst', []], ['bo2', 'staff', ['back-office']]]) {
    const r = await adminApi('POST', '/api/users', { name, password: `${name}-password-12`, role, groups });
    assert.equal(r.status, 204, JSON.stringify(r.body));
  }
});

after(closeBrowser);

test('back office claims a task, is told what the form needs, completes it, and the request moves on', async () => {
  const started = await adminApi('POST', `/api/process-definitions/${KEY}/start`, {
    businessKey: 'SC-1001', variables: { paymentDate: '2024-11-01T10:00:00Z', customerName: 'John Michael Smith' },
  });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const instance = started.body.id;

  const page = await newPage();
  await signIn(page, 'bo', 'bo-password-12');
  assert.equal(new URL(page.url()).pathname, '/inbox');
  const mine = await page.evaluate(async (id) => (await (await fetch(`/api/tasks?instanceId=${id}`)).json()), instance);
  assert.equal(mine.length, 1, JSON.stringify(mine));
  const task = mine[0].id;
  const link = page.locator(`a[href="/tasks/${task}"]`);
  await link.waitFor();
  assert.equal(await link.textContent(), 'Verify payment received');
  await shot(page, 'inbox-01-list');
  await link.click();
  await page.waitForURL(`**/tasks/${task}`);

  await page.getByRole('heading', { name: 'Verify payment received' }).waitFor();
  await page.getByText('SC-1001').waitFor();
  const reference = page.getByLabel('Bank payment reference *');
  const approved = page.getByLabel('Payment received: reactivate the system');
  await reference.waitFor();
  assert.equal(await approved.isChecked(), false, 'the default value is shown');
  await shot(page, 'inbox-02-task');

  await page.getByRole('button', { name: 'Claim' }).click();
  await page.getByRole('button', { name: 'Give back' }).waitFor();
  assert.ok(await page.getByText('bo', { exact: true }).isVisible(), 'the assignee is shown');

  // Too short for the form's minlength: the server says so, on the field.
  await reference.fill('TRX');
  await approved.check();
  await page.getByRole('button', { name: 'Complete' }).click();
  const error = page.locator('#error-paymentReference');
  await error.waitFor();
  assert.match(await error.textContent(), /short|at least/i);
  assert.equal(await reference.getAttribute('aria-invalid'), 'true');
  await shot(page, 'inbox-03-field-error');
  const still = await adminApi('GET', `/api/process-instances/${instance}`);
  assert.deepEqual(still.body.activeActivities, ['Task_VerifyPayment'], 'nothing changed');

  await reference.fill('TRX-884120');
  await page.getByRole('button', { name: 'Complete' }).click();
  await page.waitForURL('**/inbox');
  assert.equal(await page.locator(`a[href="/tasks/${task}"]`).count(), 0, 'the task has left the inbox');
  await shot(page, 'inbox-04-done');
  await page.context().close();

  const after = await adminApi('GET', `/api/process-instances/${instance}`);
  assert.deepEqual(after.body.activeActivities, ['Task_Reactivate']);
  assert.equal(after.body.variables.paymentReference, 'TRX-884120');
  assert.equal(after.body.variables.approved, true);
});

test('a task one may not see is refused, by page and API', async () => {
  const started = await adminApi('POST', `/api/process-definitions/${KEY}/start`, {
    businessKey: 'SC-1002', variables: { paymentDate: '2024-11-01T10:00:00Z' },
  });
  const tasks = await adminApi('GET', `/api/process-instances/${started.body.id}`);
  assert.deepEqual(tasks.body.activeActivities, ['Task_VerifyPayment']);
  const page = await newPage();
  await signIn(page, 'al', 'al-password-12', '/inbox');
  const theirs = await page.evaluate(async () => (await fetch('/api/tasks?limit=500')).json());
  assert.equal(theirs.length, 0, 'an analyst in no group has no tasks');
  // The back office's task, by its URL: the page says the API refused.
  const bo = await newPage();
  await signIn(bo, 'bo', 'bo-password-12');
  const boTasks = await bo.evaluate(async (id) => (await (await fetch(`/api/tasks?instanceId=${id}`)).json()), started.body.id);
  await bo.context().close();
  const res = await page.goto(`${process.env.MILLRACE_URL}/tasks/${boTasks[0].id}`);
  assert.equal(res.status(), 403);
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  await page.getByText(/neither assigned nor offered/).waitFor();
  await shot(page, 'inbox-05-not-yours');
  const status = await page.evaluate(async (id) => (await fetch(`/api/tasks/${id}/form`)).status, boTasks[0].id);
  assert.equal(status, 403);
  await page.context().close();
});

test('progress saved without completing is there after a reload; the task is handed over to a colleague', async () => {
  const started = await adminApi('POST', `/api/process-definitions/${KEY}/start`, {
    businessKey: 'SC-1003', variables: { paymentDate: '2024-11-01T10:00:00Z' },
  });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const page = await newPage();
  await signIn(page, 'bo', 'bo-password-12');
  const tasks = await page.evaluate(async (id) => (await (await fetch(`/api/tasks?instanceId=${id}`)).json()), started.body.id);
  const task = tasks[0].id;
  await page.goto(`${process.env.MILLRACE_URL}/tasks/${task}`);
  await page.getByRole('button', { name: 'Claim' }).click();
  await page.getByRole('button', { name: 'Save progress' }).waitFor();
  // Half done: too short to complete, but it may be kept.
  await page.getByLabel('Bank payment reference *').fill('TRX');
  await page.getByRole('button', { name: 'Save progress' }).click();
  await page.getByText(/^Progress saved at/).waitFor();
  await page.reload();
  const reference = page.getByLabel('Bank payment reference *');
  await reference.waitFor();
  assert.equal(await reference.inputValue(), 'TRX', 'the saved value is back');
  await page.getByText(/^Progress saved by bo at/).waitFor();
  await shot(page, 'inbox-06-progress-saved');
  const still = await adminApi('GET', `/api/process-instances/${started.body.id}`);
  assert.deepEqual(still.body.activeActivities, ['Task_VerifyPayment'], 'saving progress completes nothing');
  assert.equal(still.body.variables.paymentReference, undefined, 'nor sets variables');

  // Handed over: the colleague has it, with the progress.
  await page.getByLabel('Hand over to (user name)').fill('bo2');
  await page.getByRole('button', { name: 'Hand over' }).click();
  await page.waitForURL('**/inbox');
  await page.context().close();
  const theirs = await newPage();
  await signIn(theirs, 'bo2', 'bo2-password-12', `/tasks/${task}`);
  await theirs.getByRole('button', { name: 'Give back' }).waitFor();
  assert.equal(await theirs.getByLabel('Bank payment reference *').inputValue(), 'TRX');
  await shot(theirs, 'inbox-07-handed-over');
  await theirs.context().close();
});

test('an open inbox shows a new task, and a colleague\'s claim, without a reload', async () => {
  const page = await newPage();
  await signIn(page, 'bo', 'bo-password-12');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  let loads = 0;
  page.on('load', () => { loads += 1; });
  const started = await adminApi('POST', `/api/process-definitions/${KEY}/start`, {
    businessKey: 'SC-1004', variables: { paymentDate: '2024-11-01T10:00:00Z' },
  });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const tasks = await page.evaluate(async (id) => (await (await fetch(`/api/tasks?instanceId=${id}`)).json()), started.body.id);
  const task = tasks[0].id;
  const row = page.getByRole('row').filter({ has: page.locator(`a[href="/tasks/${task}"]`) });
  // A wait for the live update, not a measure of it (that is the bench's).
  await row.waitFor({ timeout: 30_000 });
  await shot(page, 'inbox-08-arrived-live');

  // Claimed by a colleague in another browser: the row says so here.
  const other = await newPage();
  await signIn(other, 'bo2', 'bo2-password-12', `/tasks/${task}`);
  await other.getByRole('button', { name: 'Claim' }).click();
  await other.getByRole('button', { name: 'Give back' }).waitFor();
  await other.context().close();
  await row.getByRole('cell', { name: 'bo2', exact: true }).waitFor({ timeout: 30_000 });
  assert.equal(loads, 0, 'the page was not reloaded');
  await shot(page, 'inbox-09-claimed-elsewhere');
  await page.context().close();
});

test('the inbox filter lives in the address: only mine, one process, and back', async () => {
  const page = await newPage();
  await signIn(page, 'bo2', 'bo2-password-12');
  await page.getByRole('table', { name: 'Tasks' }).waitFor();
  const all = await page.locator('table[aria-label="Tasks"] tbody tr').count();
  const filter = page.getByRole('form', { name: 'Filter tasks' });
  await filter.getByLabel('Process').selectOption(KEY);
  await filter.getByLabel('Only mine').check();
  await filter.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL((u) => u.search.includes('mine=1') && u.search.includes(`process=${KEY}`));
  await page.getByRole('table', { name: 'Tasks' }).waitFor();
  const rows = page.locator('table[aria-label="Tasks"] tbody tr');
  const mine = await rows.count();
  assert.ok(mine >= 1 && mine < all, `mine ${mine} of ${all}`);
  for (const cell of await rows.locator('td:nth-child(6)').allTextContents()) assert.equal(cell, 'bo2');
  // The address alone gives the same list (a bookmark, a link from a colleague).
  const url = page.url();
  const again = await newPage();
  await signIn(again, 'bo2', 'bo2-password-12', new URL(url).pathname + new URL(url).search);
  await again.getByRole('table', { name: 'Tasks' }).waitFor();
  assert.equal(await again.locator('table[aria-label="Tasks"] tbody tr').count(), mine);
  assert.equal(await again.getByLabel('Only mine').isChecked(), true);
  await shot(again, 'inbox-10-filtered');
  await again.context().close();
  await page.context().close();
});

test('the inbox finds tasks by request number and claims and gives back several at once', async () => {
  for (const key of ['BULK-1', 'BULK-2']) {
    const r = await adminApi('POST', `/api/process-definitions/${KEY}/start`, {
      businessKey: key, variables: { paymentDate: '2024-11-01T10:00:00Z', customerName: `Customer ${key}` },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const page = await newPage();
  await signIn(page, 'bo', 'bo-password-12', '/inbox?request=bulk');
  const table = page.getByRole('table', { name: 'Tasks' });
  const rows = table.locator('tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 2);
  assert.equal(await page.getByRole('form', { name: 'Filter tasks' }).getByLabel('Request').inputValue(), 'bulk');
  // Two ticked, one request each: both are bo's.
  await page.getByRole('checkbox', { name: 'Select Verify payment received (BULK-1)' }).check();
  await page.getByRole('checkbox', { name: 'Select Verify payment received (BULK-2)' }).check();
  await page.getByRole('button', { name: 'Claim selected' }).click();
  await page.getByRole('status').filter({ hasText: 'Claimed 2 of 2.' }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('table[aria-label="Tasks"] tbody tr td:nth-child(6)')]
    .map((td) => td.textContent).join() === 'bo,bo');
  assert.equal(await page.getByRole('checkbox', { name: 'Select Verify payment received (BULK-1)' }).isChecked(), false);
  await shot(page, 'inbox-11-bulk-claimed');
  // One given back; the other stays bo's.
  await page.getByRole('checkbox', { name: 'Select Verify payment received (BULK-2)' }).check();
  await page.getByRole('button', { name: 'Give back selected' }).click();
  await page.getByRole('status').filter({ hasText: 'Gave back 1 of 1.' }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('table[aria-label="Tasks"] tbody tr td:nth-child(6)')]
    .map((td) => td.textContent).join() === 'bo,');
  // A colleague cannot take what bo holds: told why, nothing changes.
  const other = await newPage();
  await signIn(other, 'bo2', 'bo2-password-12', '/inbox?request=BULK-1');
  await other.getByRole('checkbox', { name: 'Select Verify payment received (BULK-1)' }).check();
  await other.getByRole('button', { name: 'Claim selected' }).click();
  const refused = other.getByRole('status').filter({ hasText: 'Claimed 0 of 1.' });
  await refused.waitFor();
  assert.match(await refused.innerText(), /Not done: .*bo/);
  await shot(other, 'inbox-12-bulk-refused');
  await other.context().close();
  await page.context().close();
});
