// Reports in the browser: an administrator opens the reports page, finds
// each process's reports, runs "Service requests by milestone" (a bar chart
// and the table), downloads it as CSV, and runs the KPIs with their default
// month, then with another month given in the form. Screenshots go to
// tests/browser/artifacts/reports-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

before(async () => {
  await launch();
  // A service request, so the milestones report has a row of its own.
  const r = await adminApi('POST', '/api/process-definitions/customer-onboarding/start', {
    variables: {
      customerName: 'Report Reader', phone: '(555) 700-9999', email: 'report.reader@example.com',
      address: '1 Chart Street', districtCode: 'NORTH', category: 'Residential',
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
});

after(closeBrowser);

test('reports: the list, a chart and its table, CSV, and parameters in the address', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/reports');
  await page.getByRole('heading', { name: 'Reports', exact: true }).waitFor();
  const onboarding = page.getByRole('region', { name: 'Customer onboarding: new service connection' });
  await onboarding.getByRole('link', { name: 'Service requests by milestone' }).waitFor();
  await page.getByRole('region', { name: 'Contract takeover: new holder, same POD' })
    .getByRole('link', { name: 'Completed takeovers by route' }).waitFor();
  await shot(page, 'reports-01-list');

  await onboarding.getByRole('link', { name: 'Service requests by milestone' }).click();
  await page.waitForURL('**/reports/customer-onboarding/milestones');
  const table = page.getByRole('table', { name: 'Service requests by milestone' });
  await table.waitFor();
  const row = table.getByRole('row').filter({ hasText: 'Application Fee Generated' });
  assert.ok(Number(await row.getByRole('cell').nth(1).innerText()) >= 1);
  await page.getByRole('img', { name: 'requests by milestone' }).waitFor();
  await shot(page, 'reports-02-milestones');

  // The same table as a CSV file.
  const href = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
  assert.equal(href, '/api/reports/customer-onboarding/milestones?format=csv');
  const csv = await page.request.get(new URL(href, page.url()).href);
  assert.equal(csv.status(), 200);
  const lines = (await csv.text()).trim().split('\n');
  assert.equal(lines[0], 'milestone,requests');
  assert.ok(lines.some((l) => l.startsWith('Application Fee Generated,')), lines.join('|'));

  // The KPIs: this month by default; another month from the form, in the address.
  await page.goto(new URL('/reports/disconnection/kpis', page.url()).href);
  const form = page.getByRole('form', { name: 'Report parameters' });
  await form.waitFor();
  const monthStart = new Date().toISOString().slice(0, 8) + '01';
  assert.equal(await form.getByLabel('monthStart').inputValue(), monthStart);
  await form.getByLabel('monthStart').fill('2000-01-01');
  await form.getByLabel('monthEnd').fill('2000-02-01');
  await form.getByRole('button', { name: 'Run' }).click();
  await page.waitForURL((u) => u.search.includes('monthStart=2000-01-01'));
  await page.getByRole('status').filter({ hasText: 'No rows.' }).waitFor();
  assert.equal(await page.getByRole('form', { name: 'Report parameters' }).getByLabel('monthStart').inputValue(), '2000-01-01');
  await shot(page, 'reports-03-kpis-another-month');
});
