// The inbox end to end at scale, as docs/PERFORMANCE.md reports it (a
// benchmark, not a test: it asserts nothing about time). Against a server
// that tests/load/inbox-filter.sh filled with open tasks: signs in as the
// clerk, then loads the inbox page filtered by a variable 7 times each way
// and reports the median and the slowest, from navigation until its rows
// show (the page's HTML, its wasm and the filtered query to the server).
import { chromium } from 'playwright-core';

const BASE = process.env.MILLRACE_URL;
const RUNS = 7;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
await page.goto(`${BASE}/login`);
await page.getByLabel('User name').fill('clerk');
await page.getByLabel('Password').fill('clerk-password-123');
await page.getByRole('button', { name: 'Sign in' }).click();
await page.waitForURL((url) => !url.pathname.startsWith('/login'));

const cases = [
  ['unfiltered', '/inbox', 50],
  ['by account number (1 match)', '/inbox?variable=accountNumber&value=ACC-B-0000420', 1],
  ['by customer name (1,000 matches)', '/inbox?variable=customerName&value=Customer%20420', 50],
];
for (const [name, path, rows] of cases) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = Date.now();
    await page.goto(BASE + path);
    await page.locator('table[aria-label="Tasks"] tbody tr').nth(rows - 1).waitFor();
    times.push(Date.now() - t0);
  }
  const shown = await page.locator('table[aria-label="Tasks"] tbody tr').count();
  times.sort((a, b) => a - b);
  console.log(`${name}: ${shown} rows; median ${times[RUNS >> 1]} ms, slowest ${times[RUNS - 1]} ms (${RUNS} loads)`);
}
await browser.close();
