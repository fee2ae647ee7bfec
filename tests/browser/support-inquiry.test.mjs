// The support-inquiry process (seeds 001 and 003) in the browser, its main
// path through the inbox: an agent takes a call about an outage on a PPA
// contract whose homeowner already spoke with Omnidian; the steps follow one
// another as a wizard (an O&M case is opened and its number shown), the
// disposition notes are required, and the last step shows the receipt. A
// screenshot of each step goes to tests/browser/artifacts/support-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminApi, choose, closeBrowser, completeStep, launch, newPage, shot, signIn } from './helpers.mjs';

const AGENT = 'si.amy';
const PASSWORD = 'si.amy-password-123';

before(async () => {
  await launch();
  const r = await adminApi('POST', '/api/users', { name: AGENT, password: PASSWORD, role: 'staff', groups: ['support-agents'] });
  assert.equal(r.status, 204, JSON.stringify(r.body));
});

after(closeBrowser);

test('an outage on a PPA contract from the inbox to the disposition notes', async () => {
  const page = await newPage();
  await signIn(page, AGENT, PASSWORD);
  const offer = page.getByRole('navigation', { name: 'Start a request' })
    .getByRole('link', { name: 'New Support inquiry: system operations' });
  await offer.waitFor();
  await offer.click();
  await page.waitForURL('**/start/support-inquiry');
  await page.getByText('We do not provide cleaning', { exact: false }).waitFor();
  await page.getByLabel('Phone').check();
  await page.getByLabel('Contract ID').fill('C-1001');
  await choose(page, 'Concern', 'System outage');
  await page.getByLabel('What the homeowner says').fill('No production since the storm; Omnidian sent them to us');
  await shot(page, 'support-01-start');
  await page.getByRole('button', { name: 'Start' }).click();

  // The contract and open-case reads ran before the page moved on.
  await page.waitForURL('**/tasks/**');
  await page.getByRole('heading', { name: 'Power purchase agreement (PPA)' }).waitFor();
  await page.getByText('Laura Bennett', { exact: false }).first().waitFor();
  await page.getByLabel('Yes: create an O&M case').check();
  await shot(page, 'support-02-omnidian');
  await completeStep(page);

  const year = new Date().getUTCFullYear();
  await page.getByRole('heading', { name: `O&M case CASE-${year}-000101 created` }).waitFor();
  await shot(page, 'support-03-case-number');
  await completeStep(page);

  // The notes are required: refused on their field, then given.
  await page.getByRole('heading', { name: 'Disposition', exact: true }).waitFor();
  // The steps of this inquiry so far, and the one ahead: not every branch's.
  const steps = page.getByRole('list', { name: 'Step 3 of 3' });
  await steps.waitFor();
  assert.deepEqual(await steps.locator('li').allInnerTexts(),
    ['✓ Omnidian facilitates (PPA)', '✓ Give the case number', '● Enter disposition notes']);
  await page.getByRole('button', { name: 'Complete' }).click();
  await page.locator('.fjs-form-field-error').first().waitFor();
  await page.getByRole('textbox', { name: 'Disposition notes' }).fill('O&M case opened; homeowner to expect a call from the technician');
  await shot(page, 'support-04-disposition');
  await page.getByRole('button', { name: 'Complete' }).click();

  // The inquiry is handled: its receipt.
  await page.getByRole('heading', { name: 'Receipt · Support inquiry: system operations' }).waitFor();
  await shot(page, 'support-05-receipt');
  const instance = await page.locator('dt:text-is("Instance") + dd').innerText();
  const inst = await adminApi('GET', `/api/process-instances/${instance}`);
  assert.equal(inst.body.state, 'completed');
  assert.equal(inst.body.variables.caseId, `CASE-${year}-000101`);
  assert.equal(inst.body.variables.omnidianContacted, 'yes');
});
