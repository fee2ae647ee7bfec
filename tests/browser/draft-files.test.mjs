// An analyst edits a document template of the disconnection process in the
// designer: the file opens in the code editor, a syntax error is named by
// its line and keeps the file from being saved, the mended text is saved
// with the draft and is still there after a reload; the deployed version is
// untouched until the draft is deployed. Screenshots go to
// tests/browser/artifacts/draft-files-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const USER = 'fay.files';
const PASSWORD = 'fay-files-password-1';
const FILE = 'disconnection/receipt.typ';

before(async () => {
  await launch();
  const r = await adminApi('POST', '/api/users', { name: USER, password: PASSWORD, role: 'analyst', groups: [] });
  assert.equal(r.status, 204, JSON.stringify(r.body));
});

after(closeBrowser);

async function openFile(page) {
  await page.getByRole('combobox', { name: 'Queries and templates' }).selectOption(FILE);
  const editor = page.getByRole('textbox', { name: `File ${FILE}` });
  await editor.waitFor();
  return editor;
}

async function waitSaved(page) {
  await page.getByRole('status').filter({ hasText: /^Saved · revision \d+/ }).waitFor({ timeout: 15000 });
}

test('a template edited in the designer: a syntax error named by its line, the mended text saved with the draft', async () => {
  const deployed = await adminApi('GET', '/api/drafts/disconnection');
  const original = deployed.body.files.find((f) => f.name === FILE);
  assert.ok(original, `the draft lists the template: ${JSON.stringify(deployed.body.files.map((f) => f.name))}`);
  assert.ok(deployed.body.files.some((f) => f.name.endsWith('.sql')), 'and the named queries');
  assert.ok(deployed.body.files.every((f) => f.name.startsWith('disconnection/')),
    `only the files beside its BPMN, not the other processes': ${deployed.body.files.map((f) => f.name)}`);

  const page = await newPage();
  await signIn(page, USER, PASSWORD, '/designer/disconnection');
  await page.locator('[data-element-id="SubProcess_Resolve"]').waitFor();
  const editor = await openFile(page);
  assert.match(await editor.textContent(), /#let/, 'the template text is shown');
  await shot(page, 'draft-files-01-open');

  // A broken line: named, and the file not saved while it stands.
  await editor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await page.keyboard.type('#let broken = (');
  const status = page.locator('.file-editor .script-status');
  await status.filter({ hasText: /^Line \d+: .*not saved until it is mended/ }).waitFor();
  await shot(page, 'draft-files-02-problem');
  const meanwhile = await adminApi('GET', '/api/drafts/disconnection');
  assert.equal(meanwhile.body.files.find((f) => f.name === FILE).content, original.content,
    'the broken text is not saved');

  // Mended: a comment instead; sound, and saved with the draft.
  for (let i = 0; i < '#let broken = ('.length; i++) await page.keyboard.press('Backspace');
  await page.keyboard.type('// Checked in the designer');
  await status.filter({ hasText: 'Sound: saved with the draft.' }).waitFor();
  await waitSaved(page);
  await shot(page, 'draft-files-03-saved');

  const draft = await adminApi('GET', '/api/drafts/disconnection');
  assert.ok(draft.body.revision >= 1, `a draft revision: ${draft.body.revision}`);
  assert.equal(draft.body.files.find((f) => f.name === FILE).content, `${original.content}\n// Checked in the designer`);

  // After a reload the draft's text is the one shown.
  await page.reload();
  await page.locator('[data-element-id="SubProcess_Resolve"]').waitFor();
  const again = await openFile(page);
  // CodeMirror draws only the lines in view: go to the end first.
  await again.click();
  await page.keyboard.press('Control+End');
  assert.match(await again.textContent(), /Checked in the designer/);
  await page.context().close();
});
