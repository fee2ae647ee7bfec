// Recording a scenario in the designer: an analyst starts the support-case
// process with chosen variables, completes its tasks from the buttons the
// waiting tasks get, undoes a step, and saves what happened as a scenario
// file beside the BPMN, ending with what the run found; the designer's
// scenario run then includes it and it passes. Nothing of this touches the
// live database. A screenshot of each step goes to tests/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { adminApi, closeBrowser, launch, newPage, shot, signIn } from './helpers.mjs';

const KEY = 'support-case-reactivation';

before(async () => {
  await launch();
  const r = await adminApi('POST', '/api/users', { name: 'rec', password: 'rec-password-12', role: 'analyst', groups: [] });
  assert.equal(r.status, 204, JSON.stringify(r.body));
});

after(closeBrowser);

test('an analyst records a scenario by working the draft, and saves it beside the BPMN', async () => {
  const instancesBefore = (await adminApi('GET', '/api/process-instances?limit=500')).body.length;
  const page = await newPage();
  await signIn(page, 'rec', 'rec-password-12', `/designer/${KEY}`);
  await page.getByRole('status').filter({ hasText: /^(Saved|Deployed)/ }).waitFor();
  await page.getByRole('button', { name: 'Record scenario' }).click();
  const recorder = page.getByRole('region', { name: 'Record a scenario' });
  await recorder.getByLabel('Start variables (JSON)').fill('{"paymentDate": "2024-11-01T10:00:00Z", "contractId": "C-77"}');
  await recorder.getByLabel('Business key').fill('REC-1');
  await recorder.getByRole('button', { name: 'Start the process' }).click();
  await recorder.getByRole('button', { name: 'Complete Task_VerifyPayment' }).waitFor();
  await shot(page, 'recorder-01-started');

  // A step the engine refuses is not kept, and why is shown.
  await recorder.getByLabel('Advance the clock by').fill('soon');
  await recorder.getByRole('button', { name: 'Advance', exact: true }).click();
  await recorder.getByRole('alert').filter({ hasText: /advance/ }).waitFor();
  const steps = recorder.getByRole('list', { name: 'Recorded steps' });
  assert.equal(await steps.getByRole('listitem').count(), 0, 'the refused step is not kept');
  await recorder.getByLabel('Variables for the next task (JSON)').fill('{"approved": true, "paymentReference": "TRX-555001"}');
  await recorder.getByRole('button', { name: 'Complete Task_VerifyPayment' }).click();
  await recorder.getByRole('button', { name: 'Complete Task_Reactivate' }).waitFor();
  assert.equal(await steps.getByRole('listitem').count(), 1);
  // Undo it, and take it again.
  await recorder.getByRole('button', { name: 'Undo last step' }).click();
  await recorder.getByRole('button', { name: 'Complete Task_VerifyPayment' }).waitFor();
  assert.equal(await steps.getByRole('listitem').count(), 0);
  await recorder.getByRole('button', { name: 'Complete Task_VerifyPayment' }).click();
  await recorder.getByLabel('Variables for the next task (JSON)').fill('{}');
  await recorder.getByRole('button', { name: 'Complete Task_Reactivate' }).click();
  // Whatever the deployed version asks after that (the designer test may have
  // added a task), complete it too, to the end.
  const completed = ['Task_VerifyPayment', 'Task_Reactivate'];
  await steps.getByRole('listitem').nth(1).waitFor();
  for (let i = 0; i < 6; i++) {
    const next = recorder.locator('.waiting button').first();
    if (await next.count() === 0) break;
    const name = (await next.textContent()).replace('Complete ', '');
    await next.click();
    completed.push(name);
    await steps.getByRole('listitem').nth(completed.length - 1).waitFor();
  }
  await recorder.getByText('The instance is completed.').waitFor();
  assert.equal(await steps.getByRole('listitem').count(), completed.length);
  await shot(page, 'recorder-02-completed');

  await recorder.getByLabel('Scenario name').fill('recorded-reactivation');
  await recorder.getByRole('button', { name: 'Save scenario' }).click();
  await page.getByText(/Saved support-case\/recorded-reactivation\.scenario\.json/).waitFor();
  const saved = JSON.parse(readFileSync(`${process.env.BROWSER_PROCESSES_DIR}/support-case/recorded-reactivation.scenario.json`, 'utf8'));
  assert.equal(saved.process, 'support-case.bpmn');
  assert.equal(saved.start.businessKey, 'REC-1');
  const n = completed.length;
  assert.deepEqual(saved.steps.slice(0, n).map((s) => s.complete), completed);
  assert.ok(completed.includes('Task_CloseCase'), completed.join());
  assert.deepEqual(saved.steps[n], { expectState: 'completed' });
  assert.ok(saved.steps[n + 1].expectCompleted.includes('Task_CloseCase'), JSON.stringify(saved.steps[n + 1]));

  // A second save under the same name is refused.
  await recorder.getByLabel('Scenario name').fill('recorded-reactivation');
  await recorder.getByRole('button', { name: 'Save scenario' }).click();
  await recorder.getByRole('alert').filter({ hasText: 'exists already' }).waitFor();

  // The process's scenario run now includes it, and it passes.
  await page.getByRole('button', { name: 'Run scenarios' }).click();
  await page.getByRole('button', { name: 'support-case/recorded-reactivation.scenario.json passed: show its path' }).waitFor();
  await shot(page, 'recorder-03-saved-and-run');
  await page.context().close();

  const instancesAfter = (await adminApi('GET', '/api/process-instances?limit=500')).body.length;
  assert.equal(instancesAfter, instancesBefore, 'nothing was started on the live database');
});
