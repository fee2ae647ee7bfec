// Saved inbox filters: a clerk filters her inbox by a process variable,
// saves the filter shared with her group; a colleague finds it with its
// count, opens it, and sees the count follow a new task without a reload;
// only its owner deletes it. Screenshots go to tests/browser/artifacts/saved-filters-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const KEY = 'filter-line';
const GROUP = 'filter-clerks';
const [FRAN, FRED] = ['fran.filters', 'fred.filters'];
const password = (name) => `${name}-password-1`;

async function startOne(district, businessKey) {
  const r = await adminApi('POST', `/api/process-definitions/${KEY}/start`, { businessKey, variables: { district } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

before(async () => {
  await launch();
  const xml = readFileSync(new URL('./fixtures/filter-line.bpmn', import.meta.url), 'utf8');
  const d = await adminApi('POST', '/api/deployments', { name: KEY, files: [{ name: `${KEY}.bpmn`, content: xml }] });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  for (const name of [FRAN, FRED]) {
    const r = await adminApi('POST', '/api/users', { name, password: password(name), role: 'staff', groups: [GROUP] });
    assert.equal(r.status, 204, JSON.stringify(r.body));
  }
  await startOne('north', 'FL-1');
  await startOne('south', 'FL-2');
  await startOne('north', 'FL-3');
});

after(closeBrowser);

const rows = (page) => page.getByRole('table', { name: 'Tasks' }).locator('tbody tr');

test('a filter saved for the group: listed with its count for a colleague, following new tasks, deleted by its owner', async () => {
  const fran = await newPage();
  await signIn(fran, FRAN, password(FRAN), `/inbox?process=${KEY}&variable=district&value=north`);
  await rows(fran).first().waitFor();
  assert.equal(await rows(fran).count(), 2, 'two requests in the north');
  await fran.getByLabel('Save this filter as').fill('North visits');
  await fran.getByLabel('for', { exact: true }).selectOption(GROUP);
  await fran.getByRole('button', { name: 'Save filter' }).click();
  const franList = fran.getByRole('list', { name: 'Saved filters' });
  await franList.getByRole('link', { name: /North visits/ }).waitFor();
  assert.equal(await franList.getByRole('link', { name: /North visits/ }).locator('.count').innerText(), '2');
  await shot(fran, 'saved-filters-01-saved');

  // The same name again is refused, saying so.
  await fran.getByLabel('Save this filter as').fill('North visits');
  await fran.getByRole('button', { name: 'Save filter' }).click();
  await fran.getByRole('alert').filter({ hasText: 'already have a filter named' }).waitFor();

  // The colleague: listed, whose it is, and opened.
  const fred = await newPage();
  await signIn(fred, FRED, password(FRED), '/inbox');
  const fredList = fred.getByRole('list', { name: 'Saved filters' });
  const link = fredList.getByRole('link', { name: /North visits/ });
  await link.waitFor();
  const item = fredList.locator('li').filter({ hasText: 'North visits' });
  assert.match(await item.innerText(), new RegExp(`${FRAN} · shared with ${GROUP}`));
  assert.equal(await item.getByRole('button').count(), 0, 'not his to delete');
  await link.click();
  await fred.waitForURL(/variable=district/);
  assert.match(fred.url(), /value=north/);
  await rows(fred).first().waitFor();
  assert.equal(await rows(fred).count(), 2);
  await shot(fred, 'saved-filters-02-opened');

  // A new north task: the count and the rows follow, without a reload.
  await startOne('north', 'FL-4');
  await fredList.getByRole('link', { name: /North visits/ }).locator('.count', { hasText: '3' }).waitFor();
  await rows(fred).nth(2).waitFor();
  assert.equal(await rows(fred).count(), 3);
  await shot(fred, 'saved-filters-03-followed');

  // Its owner deletes it; the colleague's list loses it at the next change.
  await franList.getByRole('button', { name: 'Delete the filter North visits' }).click();
  await franList.getByRole('link', { name: /North visits/ }).waitFor({ state: 'detached' });
  const r = await adminApi('GET', '/api/filters');
  assert.ok(!r.body.some((f) => f.name === 'North visits'), JSON.stringify(r.body));
  await fran.context().close();
  await fred.context().close();
});
