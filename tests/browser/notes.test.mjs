// Comments and attachments on a request: a clerk opens her task, adds a
// comment and attaches a PDF, sees a wrong file refused with the reason;
// the administrator finds both on the instance page and downloads the file.
// Screenshots go to tests/browser/artifacts/notes-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN_PASSWORD, adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const KEY = 'notes-line';
const NORA = 'nora.notes';
const PASSWORD = 'nora-notes-password-1';
let instance;

before(async () => {
  await launch();
  const xml = readFileSync(new URL('./fixtures/notes-line.bpmn', import.meta.url), 'utf8');
  const d = await adminApi('POST', '/api/deployments', { name: KEY, files: [{ name: `${KEY}.bpmn`, content: xml }] });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  const u = await adminApi('POST', '/api/users', { name: NORA, password: PASSWORD, role: 'staff', groups: ['notes-clerks'] });
  assert.equal(u.status, 204, JSON.stringify(u.body));
  const r = await adminApi('POST', `/api/process-definitions/${KEY}/start`, { businessKey: 'NL-1', variables: { district: 'east' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  instance = r.body.id;
});

after(closeBrowser);

const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

test('a comment and a file added on a task are on the request for everyone who may read it', async () => {
  const page = await newPage();
  await signIn(page, NORA, PASSWORD, `/inbox?process=${KEY}`);
  await page.getByRole('table', { name: 'Tasks' }).getByRole('link').first().click();
  await page.waitForURL(/\/tasks\//);
  const notes = page.locator('section.notes');
  await notes.getByRole('heading', { name: 'Comments and attachments' }).waitFor();
  await notes.getByLabel('Comment', { exact: true }).fill('Customer asked for a morning slot.');
  await notes.getByRole('button', { name: 'Add comment' }).click();
  await notes.getByRole('list', { name: 'Comments' }).locator('li', { hasText: 'Customer asked for a morning slot.' }).filter({ hasText: NORA }).waitFor();

  // A file that is not what it says is refused, with why.
  await notes.getByLabel('File', { exact: true }).setInputFiles({ name: 'meter.pdf', mimeType: 'application/pdf', buffer: Buffer.from('MZ not a pdf') });
  await notes.getByRole('button', { name: 'Attach' }).click();
  await notes.getByRole('status').filter({ hasText: 'Not attached: the file is not a application/pdf file' }).waitFor();
  await notes.getByLabel('File', { exact: true }).setInputFiles({ name: 'meter-reading.pdf', mimeType: 'application/pdf', buffer: PDF });
  await notes.getByRole('button', { name: 'Attach' }).click();
  await notes.getByRole('status').filter({ hasText: 'meter-reading.pdf attached.' }).waitFor();
  const files = notes.getByRole('table', { name: 'Attachments' });
  await files.getByRole('link', { name: 'meter-reading.pdf' }).waitFor();
  await shot(page, 'notes-01-task');
  await page.context().close();

  const list = await adminApi('GET', `/api/process-instances/${instance}/attachments`);
  assert.equal(list.body.length, 1, JSON.stringify(list.body));
  assert.equal(list.body[0].addedBy, NORA);
  assert.match(list.body[0].taskId, new RegExp(`^${instance}:`));

  const admin = await newPage();
  await signIn(admin, 'admin', ADMIN_PASSWORD, `/operations/instances/${instance}`);
  const onInstance = admin.locator('section.notes');
  await onInstance.getByRole('list', { name: 'Comments' }).locator('li', { hasText: 'Customer asked for a morning slot.' }).waitFor();
  const download = admin.waitForEvent('download');
  await onInstance.getByRole('link', { name: 'meter-reading.pdf' }).click();
  const file = await download;
  assert.equal(file.suggestedFilename(), 'meter-reading.pdf');
  const saved = readFileSync(await file.path());
  assert.deepEqual(saved, PDF, 'the file downloads as it was attached');
  await shot(admin, 'notes-02-instance');
  await admin.context().close();
});
