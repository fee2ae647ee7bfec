// The customer-onboarding process (seed 000) in the browser, its main path
// through the inbox: a CRE registers a new connection and checks the
// application fee's status before it is paid; the billing side's payment
// message moves the request on; the estimator, the DTO, the CRE, the DTO
// again, the installer and the DTO each find their step in their inbox with
// the request's number and milestone; the CRE ends with the customer's new
// numbers. A screenshot of each step goes to tests/browser/artifacts/onboarding-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminApi, choose, closeBrowser, completeStep, launch, newPage, shot, signIn } from './helpers.mjs';

const USERS = {
  cre: ['onb.carla', ['customer-service-executives']],
  estimator: ['onb.eddie', ['estimators']],
  dto: ['onb.dora', ['district-technical-officers']],
  installer: ['ian.installer', []],
};
const password = (name) => `${name}-password-123`;

before(async () => {
  await launch();
  for (const [name, groups] of Object.values(USERS)) {
    const r = await adminApi('POST', '/api/users', { name, password: password(name), role: 'staff', groups });
    assert.equal(r.status, 204, JSON.stringify(r.body));
  }
});

after(closeBrowser);

async function pay(invoice, reference, amount) {
  const r = await adminApi('POST', '/api/messages', {
    name: 'invoice-paid',
    correlationKeys: { openInvoice: invoice },
    variables: { paymentReference: reference, paidOn: '2026-12-01', amount, channel: 'Bank' },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

// Signs `who` in, finds the request's row in their inbox showing `status`,
// and opens its task `name`.
async function openFromInbox(who, request, status, name, shotName) {
  const [user] = USERS[who];
  const page = await newPage();
  await signIn(page, user, password(user), '/inbox');
  const row = page.getByRole('row').filter({ hasText: request }).filter({ hasText: name });
  await row.waitFor();
  const headers = await page.getByRole('table', { name: 'Tasks' }).locator('thead th').allInnerTexts();
  assert.equal(await row.getByRole('cell').nth(headers.indexOf('Status')).innerText(), status);
  if (shotName) await shot(page, shotName);
  await row.getByRole('link', { name, exact: true }).click();
  await page.waitForURL('**/tasks/**');
  await page.locator('dd.request-status', { hasText: status }).waitFor();
  return page;
}

test('a new connection from the application to the customer\'s numbers', async () => {
  // Numbers come from the series the other tests share: read, not assumed.
  const number = (prefix) => new RegExp(`${prefix}-\\d{4}-\\d{6}`);
  const [cre] = USERS.cre;
  const page = await newPage();
  await signIn(page, cre, password(cre));
  const offer = page.getByRole('navigation', { name: 'Start a request' })
    .getByRole('link', { name: 'New Customer onboarding: new service connection' });
  await offer.waitFor();
  await offer.click();
  await page.waitForURL('**/start/customer-onboarding');
  await page.getByLabel("Customer's full name").fill('Grace Obi');
  await page.getByLabel('Phone number').fill('(555) 700-1234');
  await page.getByLabel('Email (the contract authorisation code is sent here)').fill('grace.obi@example.com');
  await page.getByLabel('Service address').fill('12 Willow Road, Springfield, IL 62705');
  await choose(page, 'District', 'Springfield North');
  await page.getByLabel('Residential').check();
  await shot(page, 'onboarding-01-application');
  await page.getByRole('button', { name: 'Start' }).click();

  // Milestone 1: the CRE's next step is the application fee's invoice.
  await page.waitForURL('**/tasks/**');
  const feeHeading = page.getByRole('heading', { name: /^Application Fee · invoice NEI-/ });
  await feeHeading.waitFor();
  const applicationInvoice = (await feeHeading.innerText()).match(number('NEI'))[0];
  await page.locator('dd.request-status', { hasText: 'Application Fee Generated' }).waitFor();
  const request = await page.locator('dt:text-is("Request") + dd').innerText();
  assert.match(request, number('SR'));
  // Check status before the payment: the same step again, saying so.
  await completeStep(page);
  await page.getByText('Not paid yet: 0.00 of 50.00', { exact: false }).waitFor();
  await shot(page, 'onboarding-02-not-paid-yet');
  await page.context().close();

  // Milestone 2: the billing side's message; the estimator's inbox.
  await pay(applicationInvoice, `BNK-${request}-1`, '50.00');
  const estimator = await openFromInbox('estimator', request, 'Inspection Initiated', 'Resolve the inspection', 'onboarding-03-estimator-inbox');
  await estimator.getByLabel('Passed').check();
  await choose(estimator, 'Installation type', 'Overhead');
  await choose(estimator, 'Meter phase', 'Single phase');
  await estimator.getByRole('textbox', { name: 'Findings' }).fill('Meter board and wiring to code');
  await shot(estimator, 'onboarding-04-inspection');
  await completeStep(estimator);
  await estimator.context().close();

  const dto = await openFromInbox('dto', request, 'Inspection Initiated', 'Approve the inspection');
  await dto.getByLabel('Approve: generate the contract').check();
  await completeStep(dto);
  await dto.context().close();

  // Milestone 3: the contract; the code went to the customer.
  const signing = await openFromInbox('cre', request, 'Contract Generated', 'Contract signing', 'onboarding-05-cre-inbox');
  await signing.getByRole('heading', { name: number('Contract SC') }).waitFor();
  await signing.getByLabel('The customer signed the contract').check();
  await shot(signing, 'onboarding-06-signing');
  await completeStep(signing);
  // Milestone 4: the connection fee's invoice is the CRE's next step.
  const connectionHeading = signing.getByRole('heading', { name: /^Connection Fee · invoice NEI-/ });
  await connectionHeading.waitFor();
  const connectionInvoice = (await connectionHeading.innerText()).match(number('NEI'))[0];
  await signing.locator('dd.request-status', { hasText: 'Connection Fee Generated' }).waitFor();
  await signing.context().close();

  // Milestone 5: paid; the DTO assigns the district's meter installer.
  await pay(connectionInvoice, `BNK-${request}-2`, '150.00');
  const assign = await openFromInbox('dto', request, 'Installation Initiated', 'Assign the installation order');
  await choose(assign, 'Assign to', 'Ian Brooks (Meter Installer)');
  await shot(assign, 'onboarding-07-assign');
  await completeStep(assign);
  await assign.context().close();

  const install = await openFromInbox('installer', request, 'Installation Initiated', 'Install the meter');
  await choose(install, 'Meter installed', 'MTR-E-900101');
  await install.getByLabel('First reading (kWh)').fill('0');
  await install.getByLabel('Installed on').fill('12/03/2026');
  await install.getByLabel('Installed on').press('Enter');
  await shot(install, 'onboarding-08-install');
  await completeStep(install);
  await install.context().close();

  const vet = await openFromInbox('dto', request, 'Installation Initiated', 'Vet and approve the installation');
  await vet.getByLabel('Approve: complete the request').check();
  await completeStep(vet);
  await vet.context().close();

  // Milestone 6: the CRE sees every generated number.
  const handover = await openFromInbox('cre', request, 'Completed', 'Give the customer their numbers');
  await handover.getByRole('heading', { name: `Request ${request} completed` }).waitFor();
  for (const prefix of ['ACC', 'SPN']) {
    await handover.getByText(number(prefix)).first().waitFor();
  }
  await handover.getByText('MTR-E-900101', { exact: true }).waitFor();
  await shot(handover, 'onboarding-09-handover');
  // The request is done with this last step: its receipt.
  await handover.getByRole('button', { name: 'Complete' }).click();
  await handover.getByRole('heading', { name: 'Receipt · Customer onboarding: new service connection' }).waitFor();
  await handover.locator('dt:text-is("Request") + dd', { hasText: request }).waitFor();
  await shot(handover, 'onboarding-10-receipt');
  const instance = await handover.locator('dt:text-is("Instance") + dd').innerText();
  const inst = await adminApi('GET', `/api/process-instances/${instance}`);
  assert.equal(inst.body.state, 'completed');
  assert.equal(inst.body.variables.status, 'Completed');
  assert.match(inst.body.variables.spn, number('SPN'));
  assert.equal(inst.body.variables.meterNumber, 'MTR-E-900101');
});
