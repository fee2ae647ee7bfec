// The contract-takeover process (seed 004) in the browser: an operator of
// the administration department starts a takeover of POD-002210-E from the
// inbox for a new holder who is not a customer yet, files them with the
// wizard's four steps (the step indicator shows where she is; a mistyped
// email sends step 1 back with the message on its field), asks for a power
// load increase (refused at 230 V single phase above 6 kW, then accepted),
// schedules and confirms the takeover; a field technician reads the meter
// from his inbox. A screenshot of each step goes to
// tests/browser/artifacts/takeover-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { adminApi, choose, closeBrowser, completeStep, launch, newPage, shot, signIn } from './helpers.mjs';

const OPERATOR = 'ct.olivia';
const TECHNICIAN = 'ct.tom';
const password = (name) => `${name}-password-123`;

// The business calendar's days off, as the server loads them.
const HOLIDAYS = JSON.parse(readFileSync(new URL('../../processes/reference-data.json', import.meta.url)))
  .holidays.map((h) => h.day);

// The first business day at least a week from today, as an ISO date.
function takeoverDay() {
  const d = new Date(Date.now() + 7 * 86400000);
  for (;;) {
    const iso = d.toISOString().slice(0, 10);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6 && !HOLIDAYS.includes(iso)) return iso;
    d.setUTCDate(d.getUTCDate() + 1);
  }
}
// An ISO date as the form-js date picker takes it typed (mm/dd/yyyy).
const typed = (iso) => { const [y, m, d] = iso.split('-'); return `${m}/${d}/${y}`; };
const today = () => new Date().toISOString().slice(0, 10);

before(async () => {
  await launch();
  for (const [name, group] of [[OPERATOR, 'administration'], [TECHNICIAN, 'field-technicians']]) {
    const r = await adminApi('POST', '/api/users', { name, password: password(name), role: 'staff', groups: [group] });
    assert.equal(r.status, 204, JSON.stringify(r.body));
  }
});

after(closeBrowser);

// The wizard's step indicator: its name ("Step 2 of 9") and its items.
async function stepIndicator(page) {
  const list = page.getByRole('list', { name: /^Step \d+ of \d+$/ });
  await list.waitFor();
  return { name: await list.getAttribute('aria-label'), items: await list.locator('li').allInnerTexts() };
}
// A radio option of the field labelled `field`.
async function pick(page, field, option) {
  const group = page.locator('.fjs-form-field-radio')
    .filter({ has: page.locator('label.fjs-form-field-label', { hasText: field }) });
  await group.getByLabel(option, { exact: true }).check();
}
// Completes the step and expects it back with a message on a field.
async function refused(page, message) {
  const at = page.url();
  await page.getByRole('button', { name: 'Complete' }).click();
  const error = page.locator('.fjs-form-field-error', { hasText: message }).first();
  await error.waitFor();
  await error.scrollIntoViewIfNeeded();
  assert.equal(page.url().split('/tasks/')[0], at.split('/tasks/')[0]);
}

test('a new holder filed with the wizard, a power increase, and the meter read by a technician', async () => {
  const year = new Date().getUTCFullYear();
  const takeoverId = `TKO-${year}-000001`;
  const date = takeoverDay();
  const page = await newPage();
  await signIn(page, OPERATOR, password(OPERATOR));
  const offer = page.getByRole('navigation', { name: 'Start a request' })
    .getByRole('link', { name: 'New Contract takeover: new holder, same POD' });
  await offer.waitFor();
  await offer.click();
  await page.waitForURL('**/start/contract-takeover');
  await page.getByRole('heading', { name: 'New contract takeover' }).waitFor();
  await page.getByLabel('POD or current contract number').fill('POD-002210-E');
  await page.getByLabel("New holder's full name").fill('Emma Clarke');
  await page.getByLabel("New holder's phone").fill('(555) 404-1188');
  await page.getByLabel('Requested takeover date').fill(typed(date));
  await page.getByLabel('Requested takeover date').press('Enter');
  await pick(page, 'Does the new holder ask for more power?', 'Yes');
  await shot(page, 'takeover-01-start');
  await page.getByRole('button', { name: 'Start' }).click();

  // The contract was found and the takeover numbered; the new holder is not a customer.
  await page.waitForURL('**/tasks/**');
  await page.getByRole('heading', { name: `Takeover ${takeoverId}` }).waitFor();
  await page.getByText('The new holder is not among our customers.', { exact: false }).waitFor();
  await page.getByText('Aisha Patel', { exact: false }).first().waitFor();
  await pick(page, 'How to go on', 'Wizard: four guided steps (recommended)');
  await shot(page, 'takeover-02-choose-route');
  await completeStep(page);

  // Wizard step 1: a mistyped email comes back on its field.
  await page.getByRole('heading', { name: 'Step 1 of 4: create the contact' }).waitFor();
  const first = await stepIndicator(page);
  assert.ok(first.items.some((i) => i.startsWith('●') && i.includes('Wizard 1 of 4: create the contact')), JSON.stringify(first));
  assert.ok(first.items.some((i) => i.startsWith('✓') && i.includes('New holder not found')), JSON.stringify(first));
  for (const ahead of ['Wizard 2 of 4: identity and billing', 'Wizard 3 of 4: associate the contact with the POD',
    'Wizard 4 of 4: start the new supply']) {
    assert.ok(first.items.some((i) => i.includes(ahead)), `${ahead} ahead in ${JSON.stringify(first)}`);
  }
  assert.equal(await page.getByLabel("New holder's full name").inputValue(), 'Emma Clarke');
  await page.getByLabel('Email (optional here)').fill('emma.clarke@email');
  await refused(page, 'Enter an email address such as name@example.com');
  await shot(page, 'takeover-03-wizard-1-refused');
  await page.getByLabel('Email (optional here)').fill('emma.clarke@email.com');
  await completeStep(page);

  // Step 2: identity and billing, the billing address proposed as the POD's.
  await page.getByRole('heading', { name: 'Step 2 of 4: identity and billing' }).waitFor();
  const second = await stepIndicator(page);
  assert.ok(second.items.some((i) => i.startsWith('✓') && i.includes('Wizard 1 of 4')), JSON.stringify(second));
  assert.ok(second.items.some((i) => i.startsWith('●') && i.includes('Wizard 2 of 4')), JSON.stringify(second));
  // (Customer and contract numbers come from series other tests share.)
  await page.getByText(/Contact Emma Clarke \(CUST-\d{4}\) was created\./).waitFor();
  assert.equal(await page.getByLabel('Billing address').inputValue(), '9 Elm Court, Springfield, IL 62703');
  await page.getByLabel('Identity document number').fill('DL-IL-7730412');
  await page.getByLabel('Tax code').fill('CLRMME90A41Z404X');
  await shot(page, 'takeover-04-wizard-2');
  await completeStep(page);

  // Step 3: the contact and the POD.
  await page.getByRole('heading', { name: 'Step 3 of 4: associate the contact with the POD' }).waitFor();
  assert.ok((await stepIndicator(page)).items.some((i) => i.startsWith('●') && i.includes('Wizard 3 of 4')));
  await page.getByLabel('The new holder confirms the point of delivery and its address').check();
  await page.getByLabel('The current holder gives up the contract on the takeover date').check();
  await choose(page, 'Reason for the takeover', 'Moving in');
  await shot(page, 'takeover-05-wizard-3');
  await completeStep(page);

  // Step 4: the new supply's billing.
  await page.getByRole('heading', { name: 'Step 4 of 4: start the new supply' }).waitFor();
  const fourth = await stepIndicator(page);
  assert.ok(fourth.items.filter((i) => i.startsWith('✓') && i.includes('Wizard')).length === 3, JSON.stringify(fourth));
  await page.getByText(date, { exact: false }).first().waitFor();
  await pick(page, 'Send the bills', 'By email');
  await pick(page, 'Pay the bills by', 'Direct debit from a bank account');
  await page.getByLabel('IBAN of the bank account').fill('IT60 X054 2811 1010 0000 0123 456');
  await shot(page, 'takeover-06-wizard-4');
  await completeStep(page);

  // The power load increase: its summary, refused above 6 kW single phase, then accepted.
  await page.getByRole('heading', { name: 'Power load increase', exact: true }).waitFor();
  await page.getByText('Contracted power 4.5 kW', { exact: false }).first().waitFor();
  await page.getByLabel('New power (kW)').fill('10');
  await pick(page, 'Voltage', '230 V');
  await pick(page, 'Phase', 'Single phase');
  await refused(page, 'Above 6 kW the supply must be three phase');
  await page.locator('.fjs-form-field-error', { hasText: 'Above 6 kW the supply must be 400 V' }).waitFor();
  await shot(page, 'takeover-07-power-refused');
  await pick(page, 'Voltage', '400 V');
  await pick(page, 'Phase', 'Three phase');
  await completeStep(page);

  // Schedule: the requested date is proposed.
  await page.getByRole('heading', { name: 'Schedule the takeover', exact: true }).waitFor();
  await shot(page, 'takeover-08-schedule');
  await completeStep(page);

  // Confirm: the summary read to the new holder.
  await page.getByRole('heading', { name: 'Confirm the takeover', level: 4 }).waitFor();
  await page.getByText('increase to 10 kW, 400 V, three phase (now 4.5 kW)', { exact: false }).waitFor();
  await page.getByText('filed as the wizard', { exact: false }).waitFor();
  await pick(page, 'The new holder', 'Confirms the takeover');
  await shot(page, 'takeover-09-confirm');
  await page.getByRole('button', { name: 'Complete' }).click();
  // The rest is the technician's: the operator's part ends here.
  await page.waitForURL((u) => !u.pathname.includes('/tasks/'));
  await page.getByText('Loading your tasks', { exact: false }).waitFor({ state: 'hidden' });
  await shot(page, 'takeover-10-after-confirm');
  await page.context().close();

  // The technician's inbox lists the takeover with its status; he reads the meter.
  const tech = await newPage();
  await signIn(tech, TECHNICIAN, password(TECHNICIAN));
  const row = tech.getByRole('link', { name: 'Read the meter for the new holder' }).first();
  await row.waitFor();
  await tech.getByText(takeoverId, { exact: false }).first().waitFor();
  await shot(tech, 'takeover-11-technician-inbox');
  await row.click();
  await tech.waitForURL('**/tasks/**');
  const claim = tech.getByRole('button', { name: 'Claim' });
  if (await claim.isVisible().catch(() => false)) await claim.click();
  // (The service order's number comes from a series other tests share.)
  await tech.getByRole('heading', { name: new RegExp(`^Service order SO-${year}-\\d{6}: read the meter for the new holder$`) }).waitFor();
  assert.equal(await tech.getByLabel('Meter number').inputValue(), 'MTR-E-612230');
  await tech.getByLabel('Reading (kWh)').fill('5000');
  await tech.getByLabel('Reading date').fill(typed(today()));
  await tech.getByLabel('Reading date').press('Enter');
  await refused(tech, 'The reading cannot be below the latest reading (5120 on 2024-11-10)');
  await tech.getByLabel('Reading (kWh)').fill('5398');
  await shot(tech, 'takeover-12-read-meter');
  await tech.getByRole('button', { name: 'Complete' }).click();
  await tech.waitForURL((u) => !u.pathname.includes('/tasks/'));
  await tech.getByText('Loading your tasks', { exact: false }).waitFor({ state: 'hidden' });
  await shot(tech, 'takeover-13-done');

  // The takeover is complete: a new holder on the same POD.
  const list = await adminApi('GET', '/api/process-instances?processKey=contract-takeover');
  const instances = Array.isArray(list.body) ? list.body : list.body.items ?? [];
  const id = instances.map((i) => i.id).find(Boolean);
  const inst = await adminApi('GET', `/api/process-instances/${id}`);
  assert.equal(inst.body.state, 'completed', JSON.stringify(inst.body));
  assert.equal(inst.body.variables.requestId, takeoverId);
  assert.equal(inst.body.variables.status, 'Completed');
  assert.equal(inst.body.variables.route, 'wizard');
  assert.match(inst.body.variables.newHolderId, /^CUST-\d{4}$/);
  assert.match(inst.body.variables.newContractId, new RegExp(`^SC-${year}-\\d{6}$`));
});
