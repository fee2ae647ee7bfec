// Starting a request in the browser, and a wizard: the inbox offers "New …" for every
// process the user may start; its page is the start event's form as the
// BPMN declares it; the server's check lands on the field it names and
// nothing starts; a valid form starts the request and says so. Someone the
// process does not name as a starter is refused. A screenshot of each step
// goes to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const KEY = 'service-request';

before(async () => {
  await launch();
  for (const [name, groups] of [['sr', ['meter-readers']], ['nos', ['back-office']]]) {
    const r = await adminApi('POST', '/api/users', { name, password: `${name}-password-12`, role: 'staff', groups });
    assert.equal(r.status, 204, JSON.stringify(r.body));
  }
  for (const [file, key] of [['service-request.bpmn', KEY], ['meter-exchange.bpmn', 'meter-exchange']]) {
    const xml = readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8');
    const created = await adminApi('POST', '/api/drafts', { xml });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const deployed = await adminApi('POST', `/api/drafts/${key}/deploy`, { note: 'start form', revision: created.body.revision });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
  }
});

after(closeBrowser);

test('staff start a request from its start form; the server checks it first', async () => {
  const page = await newPage();
  await signIn(page, 'sr', 'sr-password-12');
  const offer = page.getByRole('navigation', { name: 'Start a request' }).getByRole('link', { name: 'New Service request' });
  await offer.waitFor();
  await shot(page, 'start-01-inbox-offers');
  await offer.click();
  await page.waitForURL(`**/start/${KEY}`);
  await page.getByRole('heading', { name: 'New Service request' }).waitFor();
  await page.getByLabel('Reference (business key)').fill('SR-2001');
  await page.getByLabel('Customer name *').fill('Maria Lopez');
  await page.getByLabel('Account number *').fill('123');
  await page.getByRole('button', { name: 'Start' }).click();
  const error = page.locator('#error-accountNumber');
  await error.waitFor();
  assert.match(await error.textContent(), /short|at least/i);
  await shot(page, 'start-02-field-error');
  const none = await adminApi('GET', '/api/process-instances?businessKey=SR-2001');
  assert.equal(none.body.length, 0, 'nothing started');

  await page.getByLabel('Account number *').fill('ACC-100234');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByRole('heading', { name: 'Service request started' }).waitFor();
  await page.getByText('SR-2001').waitFor();
  await shot(page, 'start-03-started');
  await page.context().close();

  const list = (await adminApi('GET', '/api/process-instances?businessKey=SR-2001')).body;
  assert.equal(list.length, 1, JSON.stringify(list));
  const inst = await adminApi('GET', `/api/process-instances/${list[0].id}`);
  assert.equal(inst.body.variables.accountNumber, 'ACC-100234');
  assert.equal(inst.body.variables.customerName, 'Maria Lopez');
  assert.deepEqual(inst.body.activeActivities, ['Task_Review']);
});

test('someone the process does not name as a starter is not offered it and is refused', async () => {
  const page = await newPage();
  await signIn(page, 'nos', 'nos-password-12');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  const offered = await page.evaluate(async () => (await (await fetch('/api/start-forms')).json()).map((f) => f.key));
  assert.ok(!offered.includes(KEY), offered.join());
  const status = await page.evaluate(async (k) => (await fetch(`/api/process-definitions/${k}/start-form`)).status, KEY);
  assert.equal(status, 403);
  await page.goto(`${process.env.MILLRACE_URL}/start/${KEY}`);
  await page.getByRole('alert').filter({ hasText: /may not start/ }).waitFor();
  await page.context().close();
});

test('a wizard: started, its steps open one after another with the step indicator, and end in a receipt', async () => {
  const page = await newPage();
  await signIn(page, 'sr', 'sr-password-12', '/start/meter-exchange');
  await page.getByLabel('Reference (business key)').fill('MX-7');
  await page.getByRole('button', { name: 'Start' }).click();
  // The first step opens at once: it is offered to the starter's group.
  await page.getByRole('heading', { name: 'Read the old meter' }).waitFor();
  const steps = page.getByRole('list', { name: 'Step 1 of 2' });
  await steps.waitFor();
  assert.equal(await steps.locator('[aria-current="step"]').textContent(), '● Read the old meter');
  await shot(page, 'wizard-01-step-1');
  await page.getByLabel('Old meter reading *').fill('48211');
  await page.getByRole('button', { name: 'Complete' }).click();
  await page.getByRole('heading', { name: 'Fit the new meter' }).waitFor();
  const second = page.getByRole('list', { name: 'Step 2 of 2' });
  await second.getByText('✓ Read the old meter').waitFor();
  await shot(page, 'wizard-02-step-2');
  await page.getByLabel('New meter serial *').fill('MTR-0099');
  await page.getByRole('button', { name: 'Complete' }).click();
  const receipt = page.getByRole('article', { name: 'Receipt · Meter exchange' });
  await receipt.waitFor();
  await receipt.getByText('MX-7').waitFor();
  await receipt.getByText('48211').waitFor();
  await receipt.getByText('MTR-0099').waitFor();
  assert.equal(await receipt.getByRole('link', { name: 'Add another' }).getAttribute('href'), '/start/meter-exchange');
  await receipt.getByRole('button', { name: 'Print' }).waitFor();
  await shot(page, 'wizard-03-receipt');
  await page.context().close();
});
