// What the browser tests share: the server's address and the admin's
// password (set by tests/browser/run.sh), the API for setup, one Chromium,
// screenshots into tests/browser/artifacts/, signing in through the page.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const BASE = process.env.MILLRACE_URL;
export const ADMIN_PASSWORD = process.env.MILLRACE_ADMIN_PASSWORD;
const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

let browser;
let adminToken;

export async function api(method, path, body, headers = {}) {
  const res = await fetch(BASE + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

// Signs in through the API as the admin, for setup only.
export async function adminApi(method, path, body) {
  if (!adminToken) {
    const res = await fetch(BASE + '/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    assert.equal(res.status, 200, 'the admin signs in');
    const me = await res.json();
    adminToken = { cookie: res.headers.get('set-cookie').split(';')[0], csrf: me.csrfToken };
  }
  return api(method, path, body, { cookie: adminToken.cookie, 'x-csrf-token': adminToken.csrf });
}

// Debian's Chromium, headless, with the flags CI needs.
export async function launch() {
  assert.ok(BASE && ADMIN_PASSWORD, 'run through tests/browser/run.sh');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
}

export async function closeBrowser() {
  await browser?.close();
}

export async function shot(page, name) {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png` });
}

export async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  return page;
}

export async function signIn(page, user, password, path = '/') {
  await page.goto(BASE + path);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

// The form-js viewer's select: open it by its label, then pick the option.
export async function choose(page, label, option) {
  const exact = new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\*?$`);
  const field = page.locator('.fjs-form-field-select')
    .filter({ has: page.locator('label.fjs-form-field-label', { hasText: exact }) });
  await field.locator('.fjs-input-group').click();
  await page.locator('.fjs-dropdownlist-item', { hasText: option }).first().click();
}

// Completes the open task and waits until the page has moved on (the next
// step, or the inbox), so the completion is done before anything else.
export async function completeStep(page) {
  const before = page.url();
  await page.getByRole('button', { name: 'Complete' }).click();
  await page.waitForURL((u) => u.href !== before);
}
