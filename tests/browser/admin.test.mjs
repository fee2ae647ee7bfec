// Administration in Debian's Chromium: an administrator adds a user with
// groups, changes their role without touching the password, makes an API
// token (shown once) that signs in as them, revokes it, and finds all of it
// in the audit trail, filtered and exported as CSV. Staff may not open the
// pages. Screenshots go to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, BASE, api, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

before(launch);
after(closeBrowser);

test('a user is added and changed, and a token made and revoked', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/admin/users');
  await page.getByRole('table', { name: 'Users' }).waitFor();
  const form = page.getByRole('form', { name: 'User' });
  await form.getByLabel('Name').fill('nadia');
  await form.getByLabel('Role').selectOption('staff');
  await form.getByLabel('Groups (comma separated)').fill('estimators, billing-specialists');
  await form.getByLabel('Password (new users; blank keeps it)').fill('nadia-password-1');
  await form.getByRole('button', { name: 'Save user' }).click();
  await page.getByRole('status').filter({ hasText: 'nadia is saved.' }).waitFor();
  const row = page.getByRole('table', { name: 'Users' }).locator('tr', { has: page.getByRole('cell', { name: 'nadia', exact: true }) });
  await row.getByRole('cell', { name: 'billing-specialists, estimators' }).waitFor();
  await shot(page, 'admin-01-user-added');

  // A role change with the password left blank keeps the password.
  await page.getByRole('button', { name: 'Edit nadia' }).click();
  assert.equal(await form.getByLabel('Groups (comma separated)').inputValue(), 'billing-specialists, estimators');
  await form.getByLabel('Role').selectOption('analyst');
  await form.getByRole('button', { name: 'Save user' }).click();
  await page.getByRole('status').filter({ hasText: 'nadia is saved.' }).waitFor();
  await row.getByRole('cell', { name: 'analyst', exact: true }).waitFor();
  const login = await api('POST', '/api/login', { username: 'nadia', password: 'nadia-password-1' });
  assert.equal(login.status, 200, 'the password still works');
  assert.equal(login.body.role, 'analyst');

  // A token, shown once, signs in as nadia until it is revoked.
  const tokenForm = page.getByRole('form', { name: 'New API token' });
  await tokenForm.getByLabel('User').selectOption('nadia');
  await tokenForm.getByLabel('Label').fill('meter import');
  await tokenForm.getByRole('button', { name: 'Make token' }).click();
  const made = page.getByRole('status', { name: 'New token' });
  await made.waitFor();
  const token = await made.locator('code.secret').innerText();
  assert.match(token, /^[0-9a-f]{64}$/);
  const tokens = page.getByRole('table', { name: 'API tokens' });
  await tokens.locator('tr', { hasText: 'meter import' }).waitFor();
  await shot(page, 'admin-02-token-made');
  const me = await api('GET', '/api/me', undefined, { authorization: `Bearer ${token}` });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.equal(me.body.user, 'nadia');
  const id = (await tokens.locator('tr', { hasText: 'meter import' }).locator('code').innerText()).trim();
  await page.getByRole('button', { name: `Revoke token ${id}` }).click();
  await page.getByRole('status').filter({ hasText: `Token ${id} is revoked.` }).waitFor();
  // The list is read again after the revocation: the row goes.
  await page.getByRole('cell', { name: 'meter import' }).waitFor({ state: 'detached' });
  const after = await api('GET', '/api/me', undefined, { authorization: `Bearer ${token}` });
  assert.equal(after.status, 401, 'a revoked token no longer signs in');
  await page.context().close();
});

test('the audit trail is filtered in the address and exported as CSV', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/admin/audit');
  await page.getByRole('table', { name: 'Audit trail' }).waitFor();
  const form = page.getByRole('form', { name: 'Filter the audit trail' });
  await form.getByLabel('Action').fill('token.revoke');
  await form.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/action=token\.revoke/);
  const table = page.getByRole('table', { name: 'Audit trail' });
  await table.waitFor();
  assert.equal(await table.locator('tbody tr').count(), 1);
  await table.getByRole('cell', { name: 'admin', exact: true }).waitFor();
  await shot(page, 'admin-03-audit-filtered');
  const href = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
  assert.ok(href.includes('action=token.revoke') && href.includes('format=csv'), href);
  const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const res = await fetch(BASE + href, { headers: { cookie } });
  assert.equal(res.status, 200);
  const text = await res.text();
  const lines = text.trim().split('\n');
  assert.equal(lines[0], 'at,actor,action,target,outcome,detail');
  assert.equal(lines.length, 2, text);
  assert.ok(lines[1].includes(',admin,token.revoke,'), text);
  await page.context().close();
});

test('staff may not open the administration pages', async () => {
  const u = await adminApi('POST', '/api/users', { name: 'stan', password: 'stan-password-1', role: 'staff', groups: [] });
  assert.equal(u.status, 204, JSON.stringify(u.body));
  const page = await newPage();
  await signIn(page, 'stan', 'stan-password-1', '/admin/users');
  await page.getByRole('heading', { name: /not allowed/i }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0);
  const tokens = await api('GET', '/api/tokens', undefined, { cookie: (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ') });
  assert.equal(tokens.status, 403);
  await page.context().close();
});
