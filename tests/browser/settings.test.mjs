// Settings in the browser: an administrator changes a time slot and adds one
// in the table the processes read, saves, and sees them after a reload; a new
// row without its key is refused, naming the row, and nothing is saved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

before(launch);
after(closeBrowser);

test('time slots edited as data, and a row without its key refused', async () => {
  const page = await newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/admin/settings/time_slots');
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Settings' }).waitFor();
  const grid = page.getByRole('table', { name: 'Time slots' });
  await grid.waitFor();
  const before = await adminApi('GET', '/api/reference/time_slots');
  const rows = before.body.length;
  assert.ok(rows >= 2, JSON.stringify(before.body));
  const first = before.body[0];
  await shot(page, 'settings-01-time-slots');

  // The first slot's label changed, and a new slot added.
  await page.getByLabel('Row 1 label', { exact: true }).fill(`${first.label} (changed)`);
  await page.getByRole('button', { name: 'Add row' }).click();
  const n = rows + 1;
  await page.getByLabel(`Row ${n} slot_id`, { exact: true }).fill('SLOT-20');
  await page.getByLabel(`Row ${n} label`, { exact: true }).fill('20:00 - 22:00');
  await page.getByLabel(`Row ${n} starts`, { exact: true }).fill('20:00');
  await page.getByLabel(`Row ${n} ends`, { exact: true }).fill('22:00');
  await page.getByLabel(`Row ${n} position`, { exact: true }).fill('99');
  await page.getByLabel(`Row ${n} active`, { exact: true }).fill('1');
  await shot(page, 'settings-02-edited');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved: 2 rows added or changed.', { exact: false }).waitFor();
  const after = await adminApi('GET', '/api/reference/time_slots');
  assert.equal(after.body.length, rows + 1);
  assert.equal(after.body.find((r) => r.slot_id === first.slot_id).label, `${first.label} (changed)`);
  const added = after.body.find((r) => r.slot_id === 'SLOT-20');
  assert.deepEqual([added.label, added.position, added.active], ['20:00 - 22:00', 99, 1]);

  await page.reload();
  await page.getByRole('table', { name: 'Time slots' }).waitFor();
  assert.equal(await page.getByLabel(`Row ${n} slot_id`, { exact: true }).inputValue(), 'SLOT-20');
  // A saved row's key is fixed.
  assert.equal(await page.getByLabel('Row 1 slot_id', { exact: true }).getAttribute('readonly'), '');

  // A new row without its id: refused, naming the row; nothing saved.
  await page.getByLabel('Row 1 label', { exact: true }).fill(first.label);
  await page.getByRole('button', { name: 'Add row' }).click();
  await page.getByLabel(`Row ${n + 1} label`, { exact: true }).fill('no id');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(`Nothing was saved: row ${n + 1}: the row has no slot_id, which names it`).waitFor();
  await shot(page, 'settings-03-refused');
  const unchanged = await adminApi('GET', '/api/reference/time_slots');
  assert.equal(unchanged.body.find((r) => r.slot_id === first.slot_id).label, `${first.label} (changed)`);
  assert.equal(unchanged.body.length, rows + 1);
  // Leave the slots as the other tests know them.
  const restored = await adminApi('PUT', '/api/reference/time_slots', { rows: [{ slot_id: first.slot_id, label: first.label }, { slot_id: 'SLOT-20', active: 0 }] });
  assert.equal(restored.status, 200, JSON.stringify(restored.body));
});
