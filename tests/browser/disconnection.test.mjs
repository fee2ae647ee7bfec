// The disconnection process (seed 002) in the browser, its main path through
// the inbox: a customer service executive starts a request from the inbox,
// searches, picks the customer among the matches, gives the details (a past
// date is refused), reviews and gets the receipt; the request is
// acknowledged, approved by a supervisor, settled (with the deposit), billed
// after a meter reading the process sends back once ("Meter not linked to
// this account", on its field), and executed in the field. A screenshot of
// each step goes to tests/browser/artifacts/disconnection-*.png. A second
// request is closed from its request view while it waits for
// acknowledgement: the "Close request" quick action asks for the reason in a
// dialog (the close form) before it sends the message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE, adminApi, api, choose, closeBrowser, completeStep, launch, newPage, shot, signIn } from './helpers.mjs';

const PEOPLE = [
  ['dc.sarah', 'customer-service-executives'],
  ['dc.david', 'supervisors'],
  ['dc.rita', 'recovery-executives'],
  ['dc.bill', 'billing-specialists'],
  ['dc.mike', 'field-technicians'],
];
const password = (name) => `${name}-password-123`;

before(async () => {
  await launch();
  for (const [name, group] of PEOPLE) {
    const r = await adminApi('POST', '/api/users', { name, password: password(name), role: 'staff', groups: [group] });
    assert.equal(r.status, 204, JSON.stringify(r.body));
  }
});

after(closeBrowser);

// A day from today as the form-js date picker takes it typed (mm/dd/yyyy).
function day(offset) {
  const [y, m, d] = new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10).split('-');
  return `${m}/${d}/${y}`;
}

// Follows the page's link to a document as the signed-in user: its text, as
// pdftotext (poppler-utils) reads the PDF the server sent.
async function pdfText(page, linkName) {
  const link = page.getByRole('link', { name: linkName, exact: false }).first();
  const href = await link.getAttribute('href');
  const response = await page.request.get(new URL(href, page.url()).href);
  assert.equal(response.status(), 200, href);
  assert.equal(response.headers()['content-type'], 'application/pdf');
  const file = join(mkdtempSync(join(tmpdir(), 'millrace-pdf-')), 'd.pdf');
  writeFileSync(file, await response.body());
  return execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
}

// Opens the instance's task at `element` as the signed-in user, claimed.
async function openTask(page, instance, element) {
  const tasks = await page.evaluate(async (id) => (await (await fetch(`/api/tasks?instanceId=${id}`)).json()), instance);
  const task = tasks.find((t) => t.elementId === element);
  assert.ok(task, `${element} in ${JSON.stringify(tasks.map((t) => t.elementId))}`);
  await page.goto(`${process.env.MILLRACE_URL}/tasks/${task.id}`);
  const claim = page.getByRole('button', { name: 'Claim' });
  if (await claim.isVisible().catch(() => false)) await claim.click();
  await page.getByRole('button', { name: 'Complete' }).waitFor();
  await page.locator('.fjs-form').waitFor();
}

test('the sample customer from the inbox to an executed disconnection', async () => {
  const page = await newPage();
  await signIn(page, 'dc.sarah', password('dc.sarah'));
  const offer = page.getByRole('navigation', { name: 'Start a request' })
    .getByRole('link', { name: 'New Disconnection and reconnection request' });
  await offer.waitFor();
  await offer.click();
  await page.waitForURL('**/start/disconnection');
  await page.getByLabel('Customer name, account number or phone').fill('smith');
  await shot(page, 'disconnection-01-search');
  await page.getByRole('button', { name: 'Start' }).click();

  // The search ran before the page moved on: the matches are the select's options.
  await page.waitForURL('**/tasks/**');
  await page.getByRole('heading', { name: 'Select and verify the customer' }).waitFor();
  await choose(page, 'Customer', 'John Michael Smith');
  await page.getByLabel("I verified the customer's identity with the required documents").check();
  await shot(page, 'disconnection-02-select-customer');
  await completeStep(page);

  await page.getByText('Disconnection request', { exact: false }).first().waitFor();
  await page.getByText('ACC-2024-001789', { exact: false }).first().waitFor();
  await choose(page, 'Reason', 'Non-payment of bills');
  await choose(page, 'Preferred time slot', '10:00 AM - 12:00 PM');
  await page.getByLabel('Additional notes (optional)').fill('Customer requested morning slot due to work schedule');
  // The date picker takes no past date (the server refuses one too, with
  // "Cannot select past date": tests/disconnection.rs): nothing moves on.
  const details = page.url();
  await page.getByLabel('Preferred date').fill(day(-1));
  await page.getByLabel('Preferred date').press('Enter');
  await page.getByRole('button', { name: 'Complete' }).click();
  await page.locator('.fjs-form-field-error').first().waitFor();
  assert.equal(page.url(), details);
  await shot(page, 'disconnection-03-past-date-refused');
  await page.getByLabel('Preferred date').fill(day(5));
  await page.getByLabel('Preferred date').press('Enter');
  await completeStep(page);

  await page.getByRole('heading', { name: 'Review and submit', level: 1 }).waitFor();
  await page.getByText('Non-payment of bills (NP-001, High priority)').waitFor();
  await shot(page, 'disconnection-04-review');
  await completeStep(page);

  const year = new Date().getUTCFullYear();
  await page.getByText(`Request DIS-${year}-001234 submitted`).waitFor();
  await page.getByText('Outstanding $456.78', { exact: false }).waitFor();
  await shot(page, 'disconnection-05-receipt');
  // The receipt as a PDF, linked from the form and listed with the request.
  await page.getByRole('link', { name: `Receipt DIS-${year}-001234` }).waitFor();
  const receipt = await pdfText(page, 'Download the receipt (PDF)');
  for (const text of [`DIS-${year}-001234`, 'John Michael Smith', '$456.78', '−$200.00', '$256.78']) {
    assert.ok(receipt.includes(text), `${text} not in the receipt:\n${receipt}`);
  }
  const instance = page.url().split('/tasks/')[1].split(':')[0];
  await completeStep(page);
  await page.context().close();

  const [acknowledge] = [await newPage()];
  await signIn(acknowledge, 'dc.sarah', password('dc.sarah'));
  await openTask(acknowledge, instance, 'Task_Acknowledge');
  await acknowledge.getByLabel('Acknowledge (In Progress)').check();
  await shot(acknowledge, 'disconnection-06-acknowledge');
  await completeStep(acknowledge);
  await acknowledge.context().close();

  const supervisor = await newPage();
  await signIn(supervisor, 'dc.david', password('dc.david'));
  await openTask(supervisor, instance, 'Task_Approve');
  await supervisor.getByLabel('Approve', { exact: true }).check();
  await shot(supervisor, 'disconnection-07-approve');
  await completeStep(supervisor);
  await supervisor.context().close();

  const recovery = await newPage();
  await signIn(recovery, 'dc.rita', password('dc.rita'));
  await openTask(recovery, instance, 'Task_Settle');
  await recovery.getByText('Outstanding $456.78', { exact: false }).waitFor();
  await recovery.getByText('Net: $256.78', { exact: false }).waitFor();
  assert.ok(await recovery.getByLabel('Use the security deposit in the bill').isChecked(), 'on by default');
  await recovery.getByLabel('Continue to the final bill').check();
  await shot(recovery, 'disconnection-08-settlement');
  await completeStep(recovery);
  await recovery.context().close();

  const billing = await newPage();
  await signIn(billing, 'dc.bill', password('dc.bill'));
  await openTask(billing, instance, 'Task_FinalReading');
  await billing.getByLabel('Meter number').fill('MTR-E-301177');
  await billing.getByLabel('Final reading (kWh / m³)').fill('15480');
  await billing.getByLabel('Reading date').fill(day(0));
  await billing.getByLabel('Reading date').press('Enter');
  await completeStep(billing);
  // The process sends the step back with its message on the field it names.
  await billing.getByText('Meter not linked to this account').waitFor();
  await shot(billing, 'disconnection-09-meter-refused');
  await billing.getByLabel('Meter number').fill('MTR-E-558812');
  await billing.getByLabel('Final reading (kWh / m³)').fill('15480');
  await billing.getByLabel('Reading date').fill(day(0));
  await billing.getByLabel('Reading date').press('Enter');
  await completeStep(billing);
  await billing.getByRole('heading', { name: 'Final bill (draft)', exact: false }).waitFor();
  await billing.getByText('Security deposit applied: -$200.00', { exact: false }).waitFor();
  await billing.getByText('Final amount due: $310.13', { exact: false }).waitFor();
  const draft = await pdfText(billing, 'Open the draft bill (PDF)');
  for (const text of ['Draft', '$456.78', '−$200.00', '$310.13']) {
    assert.ok(draft.includes(text), `${text} not in the draft bill:\n${draft}`);
  }
  await billing.getByLabel('Approve and send').check();
  await shot(billing, 'disconnection-10-final-bill');
  await completeStep(billing);
  await billing.context().close();

  const order = await newPage();
  await signIn(order, 'dc.rita', password('dc.rita'));
  await openTask(order, instance, 'Task_ServiceOrder');
  await order.getByLabel('Use an open service order').check();
  await order.getByLabel('Existing service order id (SO-…)').fill('SO-2024-005678');
  await completeStep(order);
  await order.context().close();

  const field = await newPage();
  await signIn(field, 'dc.mike', password('dc.mike'));
  await openTask(field, instance, 'Task_Execute');
  await field.getByLabel('Remove meter completely').check();
  await field.getByLabel('Device number').fill('DEV-E-77120');
  for (const item of ['Final meter reading captured', 'Customer informed of the disconnection', 'Final bill approved and sent',
    'Security deposit settled', 'Supply isolated at the point of delivery', 'Safety seal applied']) {
    await field.getByLabel(item).check();
  }
  await shot(field, 'disconnection-11-execute');
  await completeStep(field);
  await field.context().close();

  const inst = await adminApi('GET', `/api/process-instances/${instance}`);
  assert.deepEqual(inst.body.activeActivities, ['Task_Close'], JSON.stringify(inst.body.activeActivities));
  assert.equal(inst.body.variables.status, 'Completed');
  assert.equal(inst.body.variables.finalAmountDue, 310.13);
  assert.equal(inst.body.variables.invoiceNumber, 'INV-414013');
});

// Clicks a diagram element near its bottom-right corner (its centre holds its label).
async function clickElement(page, id) {
  const el = page.locator(`.djs-element[data-element-id="${id}"]`);
  await el.waitFor({ state: 'attached' });
  const box = await el.locator('.djs-hit').first().boundingBox();
  await page.mouse.click(box.x + box.width * 0.8, box.y + box.height * 0.8);
}

test('an analyst opens the process in the designer: its connectors in the properties panel, its scenarios pass', async () => {
  const r = await adminApi('POST', '/api/users', { name: 'dc.analyst', password: password('dc.analyst'), role: 'analyst', groups: [] });
  assert.equal(r.status, 204, JSON.stringify(r.body));
  const page = await newPage();
  await signIn(page, 'dc.analyst', password('dc.analyst'));
  await page.goto(`${process.env.MILLRACE_URL}/designer/disconnection`);
  await page.locator('[data-element-id="SubProcess_Resolve"]').waitFor();
  // The shipped process passes the modeler's lint: its badge says so, with no errors or warnings.
  await page.locator('.bjsl-button-success').waitFor();
  assert.equal(await page.locator('.bjsl-button-error, .bjsl-button-warning').count(), 0);
  await shot(page, 'disconnection-12-designer');

  await clickElement(page, 'Task_LockCustomer');
  const panel = page.getByRole('complementary', { name: 'Properties' });
  await panel.getByText('Lock the customer').first().waitFor();

  // The Camunda 7 panel edits it as a connector, with its own inputs and outputs.
  const type = panel.locator('select', { has: page.locator('option[value="connector"]') }).first();
  assert.equal(await type.inputValue(), 'connector');
  const text = await panel.textContent();
  assert.match(text, /Connector inputs/, text.slice(0, 800));
  assert.match(text, /Connector outputs/);
  await shot(page, 'disconnection-13-connector-properties');

  await page.getByRole('button', { name: 'Run scenarios' }).click();
  const scenarios = page.getByRole('region', { name: 'Scenarios' });
  const summary = scenarios.getByText(/^\d+ of \d+ passed$/);
  await summary.waitFor({ timeout: 120000 });
  const [passed, all] = (await summary.textContent()).match(/\d+/g).map(Number);
  assert.ok(all >= 38, `${all} scenarios`);
  assert.equal(passed, all, await scenarios.textContent());
  await shot(page, 'disconnection-14-scenarios-pass');
  await page.context().close();
});

// Signs in through the API as a staff member: their calls, with the session
// cookie and the CSRF header.
async function staffApi(name) {
  const res = await fetch(BASE + '/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name, password: password(name) }),
  });
  assert.equal(res.status, 200, `${name} signs in`);
  const me = await res.json();
  const headers = { cookie: res.headers.get('set-cookie').split(';')[0], 'x-csrf-token': me.csrfToken };
  return (method, path, body) => api(method, path, body, headers);
}

// The instance's task at `element` once `call`'s user sees it (the calls
// before a task are jobs: a wait, not a measure).
async function taskAt(call, instance, element) {
  for (let i = 0; ; i++) {
    const tasks = await call('GET', `/api/tasks?instanceId=${instance}`);
    const task = tasks.body.find((t) => t.elementId === element);
    if (task) return task;
    assert.ok(i < 300, `no ${element} in ${JSON.stringify(tasks.body.map((t) => t.elementId))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function completeAt(call, instance, element, variables) {
  const task = await taskAt(call, instance, element);
  const claimed = await call('POST', `/api/tasks/${task.id}/claim`);
  assert.ok(claimed.status < 300, JSON.stringify(claimed.body));
  const done = await call('POST', `/api/tasks/${task.id}/complete`, { variables });
  assert.equal(done.status, 200, `${element}: ${JSON.stringify(done.body)}`);
}

test('a request waiting for acknowledgement is closed from its view with the reason the dialog asks for', async () => {
  // Sending the messages a request waits for is the `act` permission.
  const grant = await adminApi('POST', '/api/grants', { key: 'disconnection', permission: 'act', group: 'customer-service-executives' });
  assert.equal(grant.status, 201, JSON.stringify(grant.body));
  const sarah = await staffApi('dc.sarah');
  const started = await sarah('POST', '/api/process-definitions/disconnection/start', { variables: { search: 'nguyen' } });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = started.body.id;
  const inFive = new Date(Date.now() + 5 * 86400000).toISOString().slice(0, 10);
  await completeAt(sarah, id, 'Task_SelectCustomer', { accountNumber: 'ACC-2023-003305', identityVerified: true });
  await completeAt(sarah, id, 'Task_RequestDetails', { reasonCode: 'NP-001', preferredDate: inFive, timeSlot: 'SLOT-10' });
  await completeAt(sarah, id, 'Task_Review', { notifyCustomer: false });
  await completeAt(sarah, id, 'Task_Receipt', {});
  await taskAt(sarah, id, 'Task_Acknowledge');
  const requestId = (await adminApi('GET', `/api/process-instances/${id}`)).body.variables.requestId;
  assert.match(requestId, /^DIS-\d{4}-\d{6}$/);

  const page = await newPage();
  await signIn(page, 'dc.sarah', password('dc.sarah'), `/requests/${id}`);
  const actions = page.getByRole('navigation', { name: 'Quick actions' });
  await actions.getByRole('link', { name: 'Work on: Acknowledge request' }).waitFor();
  const dialog = page.getByRole('dialog', { name: 'Close request' });
  // Escape leaves it unsent, as Cancel does.
  await actions.getByRole('button', { name: 'Close request…' }).click();
  await dialog.locator('.fjs-form').waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await actions.getByRole('button', { name: 'Close request…' }).click();
  await dialog.locator('.fjs-form').waitFor();
  // The close form's text reads the request's own variables.
  await dialog.getByText(`Close ${requestId}`).waitFor();

  // No reason: the form says so on its field, and nothing is sent.
  await dialog.getByRole('button', { name: 'Close request' }).click();
  await dialog.locator('.fjs-form-field-error').first().waitFor();
  await shot(page, 'disconnection-13-close-needs-a-reason');
  assert.equal((await adminApi('GET', `/api/process-instances/${id}`)).body.state, 'active');

  await choose(page, 'Reason', 'Cancelled by consumer');
  await dialog.getByLabel('Additional notes').fill('Paid in full at the counter');
  await shot(page, 'disconnection-14-close-dialog');
  await dialog.getByRole('button', { name: 'Close request' }).click();
  await page.getByText('Close request: done.').waitFor();
  await dialog.waitFor({ state: 'detached' });

  // The close runs its calls as jobs; then the request reads Closed, with nothing left to do.
  for (let i = 0; ; i++) {
    const inst = await adminApi('GET', `/api/process-instances/${id}`);
    if (inst.body.state === 'completed') {
      assert.equal(inst.body.variables.status, 'Closed');
      assert.equal(inst.body.variables.closeReasonLabel, 'Cancelled by consumer');
      assert.equal(inst.body.variables.closeNotes, 'Paid in full at the counter');
      break;
    }
    assert.ok(i < 300, `not closed: ${JSON.stringify(inst.body.activeActivities)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.reload();
  await page.locator('.request-facts').getByText('Closed', { exact: true }).waitFor();
  await actions.getByText('Nothing for you to do on this request now.').waitFor();
  await shot(page, 'disconnection-15-closed');
  await page.context().close();
});
