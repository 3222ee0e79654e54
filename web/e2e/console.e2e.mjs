// End-to-end test of the console in headless Chromium, run by
// internal/console/e2e_test.go against a real `sluice serve`. It uses
// Debian's chromium through playwright-core (no browser download) and
// fails on any request the page makes off the loopback.
//
// Env: SLUICE_ADMIN_URL, SLUICE_PROXY_URL, SLUICE_UPSTREAM_URL,
// SLUICE_PASSWORD, SLUICE_CHROMIUM, SLUICE_SCREENSHOTS (a folder).
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const admin = env('SLUICE_ADMIN_URL');
const proxy = env('SLUICE_PROXY_URL');
const upstreamURL = env('SLUICE_UPSTREAM_URL');
const password = env('SLUICE_PASSWORD');
const shots = env('SLUICE_SCREENSHOTS');
mkdirSync(shots, { recursive: true });

const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
// A fresh profile (--user-data-dir) for each run.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env('SLUICE_CHROMIUM'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
  viewport: { width: 1280, height: 800 },
  baseURL: admin,
});
context.setDefaultTimeout(10000);

// Every request off the loopback is refused and remembered.
const external = [];
await context.route('**/*', (route) => {
  const u = new URL(route.request().url());
  if (u.protocol === 'data:' || ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return route.continue();
  external.push(u.href);
  return route.abort();
});
const page = context.pages()[0] || (await context.newPage());
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));
// A blocked script, style or connection shows as a CSP message.
page.on('console', (m) => {
  if (/Content Security Policy|Refused to/i.test(m.text())) consoleErrors.push(m.text());
});

let step = 0;
async function check(name, f) {
  step++;
  const t0 = Date.now();
  try {
    await f();
    console.log(`ok ${step} - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    console.log(`not ok ${step} - ${name}`);
    await page.screenshot({ path: join(shots, `failed-${step}.png`), fullPage: true }).catch(() => {});
    throw e;
  }
}
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
const heading = (text) => page.getByRole('heading', { level: 1, name: text }).waitFor();

try {
  await check('an unauthenticated visit shows the login page', async () => {
    await page.goto('/');
    await page.getByLabel('Password', { exact: true }).waitFor();
    await shot('login');
  });

  await check('a wrong password is refused', async () => {
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
  });

  await check('logging in opens the dashboard', async () => {
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await heading('Dashboard');
  });

  await check('a validation error is shown on its field', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Upstreams' }).click();
    await heading('Upstreams');
    await page.getByRole('link', { name: 'New upstream' }).click();
    await page.getByLabel('Name').fill('shop');
    await page.getByLabel('Targets').fill('ftp://nowhere');
    await page.getByRole('button', { name: 'Create' }).click();
    const targets = page.getByLabel('Targets');
    await page.locator('.has-error .field-error').first().waitFor();
    assert.equal(await targets.getAttribute('aria-invalid'), 'true', 'the Targets field is marked invalid');
    await shot('upstream-invalid');
  });

  await check('creating an upstream shows its live target health', async () => {
    await page.getByLabel('Targets').fill(`${upstreamURL} 100`);
    await page.getByRole('button', { name: 'Create' }).click();
    await heading('Upstream shop');
    await page.getByRole('heading', { name: 'Target health' }).waitFor();
    await page.locator('.targets li').filter({ hasText: upstreamURL }).waitFor();
    await shot('upstream');
  });

  await check('the upstream list shows health and where each upstream comes from', async () => {
    await page.getByRole('link', { name: 'All upstreams' }).click();
    await heading('Upstreams');
    await page.getByRole('row').filter({ hasText: 'shop' }).getByText('1/1 healthy').waitFor();
    await page.getByRole('row').filter({ hasText: 'legacy' }).getByText('config file').waitFor();
  });

  await check('creating a route', async () => {
    await page.goto('/routes/new');
    await page.getByLabel('Name').fill('shop');
    await page.getByLabel('Paths').fill('shop');
    await page.getByLabel('Upstream', { exact: true }).fill('shop');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('.has-error').filter({ hasText: 'must start with /' }).waitFor();
    await page.getByLabel('Paths').fill('/shop');
    await page.getByRole('button', { name: 'Create' }).click();
    await heading('Route shop');
    await page.getByRole('navigation').getByRole('link', { name: 'Routes' }).click();
    await page.getByRole('link', { name: 'shop', exact: true }).waitFor();
    await shot('routes');
  });

  await check('a concurrent change is refused, not overwritten', async () => {
    await page.goto('/upstreams/shop');
    await page.getByLabel('Retries').waitFor();
    // Someone else changes the upstream after the page read it.
    const csrf = (await context.cookies()).find((c) => c.name === 'sluice_csrf').value;
    const cur = await (await page.request.get('/api/v1/upstreams/shop')).json();
    for (const k of ['source', 'version', 'created_at', 'updated_at']) delete cur[k];
    const put = await page.request.put('/api/v1/upstreams/shop', { data: { ...cur, retries: 3 }, headers: { 'X-CSRF-Token': csrf } });
    assert.equal(put.status(), 200);
    await page.getByLabel('Retries').fill('1');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: 'Someone else changed this upstream' }).waitFor();
    await page.reload();
    assert.equal(await page.getByLabel('Retries').inputValue(), '3', 'the other change was kept');
  });

  await check('a file-declared route is read-only', async () => {
    await page.goto('/routes/legacy');
    await page.getByRole('note').filter({ hasText: 'declared in the config file' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0, 'no Save button');
    assert.ok(await page.getByLabel('Paths').isDisabled(), 'fields are disabled');
  });

  await check('traffic through the proxy reaches the new route', async () => {
    // The route reaches the proxy within a second of the write.
    let ok = 0;
    for (let i = 0; i < 100 && ok < 20; i++) {
      const r = await fetch(`${proxy}/shop/item/${i}`);
      await r.text();
      if (r.status === 200) ok++;
      else await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(ok, 20, '20 answers from the shop upstream');
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${proxy}/legacy/orders/${i}`);
      await r.text();
      assert.equal(r.status, 502);
      assert.equal(r.headers.get('sluice-error'), 'upstream_connect_failed');
    }
  });

  await check('the dashboard shows the traffic and the 5xx by code', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Dashboard' }).click();
    await heading('Dashboard');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByTestId('total-requests').filter({ hasText: /^2[3-9]$|^[3-9]\d$/ }).waitFor();
    await page.getByRole('cell', { name: 'upstream_connect_failed', exact: true }).waitFor();
    await page.locator('table').getByRole('link', { name: 'shop' }).waitFor();
    await page.locator('.health-list li').filter({ hasText: 'shop' }).getByText('1/1 healthy').waitFor();
    await page.locator('canvas').first().waitFor();
    // AI usage the test put in the store: six requests of 1000 + 250 tokens.
    await page.getByRole('row').filter({ hasText: 'chat' }).filter({ hasText: '6' }).getByText('6,000 / 1,500').waitFor();
    await page.getByRole('figure', { name: 'Tokens' }).waitFor();
    await shot('dashboard');
  });

  await check('a 5xx on the dashboard links to its log entries', async () => {
    await page.getByRole('link', { name: 'Log entries with code upstream_connect_failed' }).click();
    await heading('Request log');
    assert.match(page.url(), /code=upstream_connect_failed/);
    await page.locator('table.logs tbody tr').nth(2).waitFor();
    assert.equal(await page.locator('table.logs tbody tr').count(), 3, 'the three failed requests');
    await shot('logs');
  });

  await check('a failed request shows its cause chain and the fix', async () => {
    await page.locator('table.logs tbody tr').first().getByRole('link').click();
    await heading('Request');
    await page.getByRole('heading', { name: 'Cause chain' }).waitFor();
    const chain = page.getByRole('list', { name: 'Attempts, in order' });
    await chain.getByText('Attempt 1').waitFor();
    await chain.getByText('Attempt 2').waitFor();
    assert.ok((await chain.textContent()).includes('upstream_connect_failed'));
    await page.getByText('Is the service running and listening').waitFor();
    await shot('request');
  });

  await check('the logs explorer filters by route', async () => {
    await page.goto('/logs');
    await page.getByLabel('Route').fill('shop');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/route=shop/);
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('table.logs tbody tr')];
      return rows.length > 0 && rows.every((r) => r.textContent.includes('/shop/'));
    });
  });

  await check('a consumer credential’s secret is shown once', async () => {
    await page.goto('/consumers/new');
    await page.getByLabel('Name').fill('alice');
    await page.getByLabel('Groups').fill('gold');
    await page.getByRole('button', { name: 'Create' }).click();
    await heading('Consumer alice');
    await page.getByRole('button', { name: 'Create credential' }).click();
    const secret = await page.getByTestId('secret').textContent();
    assert.ok(secret.length >= 20, 'a generated key');
    await shot('consumer');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await page.reload();
    await page.locator('.creds li').filter({ hasText: 'key-auth' }).waitFor();
    assert.ok(!(await page.locator('.creds').textContent()).includes(secret), 'the key is masked afterwards');
  });

  await check('global plugins, AI providers (keys masked) and models list', async () => {
    await page.goto('/plugins/new');
    await page.getByLabel('Plugin', { exact: true }).selectOption('cors');
    await page.getByLabel('Settings', { exact: true }).fill('{"origins": ["https://app.example.com"]}');
    await page.getByRole('button', { name: 'Create' }).click();
    await heading('Global plugin cors');
    await page.goto('/ai/providers/local');
    await heading('AI provider local');
    const keys = await page.getByLabel('API keys').inputValue();
    assert.ok(!keys.includes('sk-test-not-a-real-key-1234'), `the provider key is masked: ${keys}`);
    await shot('ai-provider');
    await page.goto('/ai/models');
    await page.getByRole('link', { name: 'chat', exact: true }).waitFor();
  });

  await check('the playground page offers the configured models', async () => {
    await page.goto('/playground');
    await heading('AI playground');
    assert.equal(await page.getByLabel('Model').inputValue(), 'chat');
    await page.getByLabel('Message').fill('Say hello.');
    await page.getByRole('button', { name: 'Send' }).click();
    // The node's AI gateway streams the answer of the test's mock
    // provider (an OpenAI-format server) through the playground endpoint.
    await page.getByTestId('answer').filter({ hasText: 'Hello from the mock provider.' }).waitFor();
    await page.getByTestId('tokens').filter({ hasText: '11 in, 4 out' }).waitFor();
    await page.getByTestId('provider').filter({ hasText: 'local / tiny' }).waitFor();
    await page.getByText('$0.000019').waitFor();
  });

  await check('the playground page renders an OpenAI SSE stream (answer, tokens, provider, cost)', async () => {
    // A recorded stream stands in for the AI gateway's answer: this checks
    // the page's stream reading only, not the gateway.
    const sse = [
      { choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
      { choices: [{ index: 0, delta: { content: 'Hello' } }] },
      { choices: [{ index: 0, delta: { content: ', world.' } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { choices: [], usage: { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 }, sluice: { provider: 'local', provider_model: 'tiny', cost_usd: 0.000123 } },
    ].map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n';
    await page.route('**/api/v1/playground/chat', (route) => {
      const body = route.request().postDataJSON();
      assert.equal(body.model, 'chat');
      assert.equal(body.stream, true);
      assert.deepEqual(body.messages.at(-1), { role: 'user', content: 'Say hello.' });
      route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream', 'X-Request-Id': 'recorded-1' }, body: sse });
    });
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByTestId('answer').filter({ hasText: 'Hello, world.' }).waitFor();
    await page.getByTestId('tokens').filter({ hasText: '11 in, 4 out' }).waitFor();
    await page.getByTestId('provider').filter({ hasText: 'local / tiny' }).waitFor();
    await page.getByText('$0.000123').waitFor();
    await page.unroute('**/api/v1/playground/chat');
    await shot('playground');
  });

  await check('the config page exports YAML and checks an import', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Config' }).click();
    await heading('Config');
    const yaml = await page.getByLabel('Current config (YAML)').inputValue();
    assert.ok(yaml.includes('name: shop') && !yaml.includes('sk-test-not-a-real-key-1234'), 'the export lists shop, keys masked');
    await page.getByLabel('YAML document').fill('upstreams:\n  - name: extra\n    targets: [{ url: "ftp://x" }]\n');
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByRole('alert').filter({ hasText: 'line 3' }).waitFor();
    await page.getByLabel('YAML document').fill(`upstreams:\n  - name: extra\n    targets: [{ url: "${upstreamURL}" }]\n`);
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByRole('status').filter({ hasText: 'nothing was applied' }).filter({ hasText: 'extra' }).waitFor();
    await shot('config');
  });

  await check('a new admin user gets a generated password once', async () => {
    await page.goto('/account');
    await page.getByLabel('Username').fill('ops');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('alert').filter({ hasText: 'The password of ops' }).waitFor();
    await page.locator('.creds li').filter({ hasText: 'ops' }).waitFor();
  });

  await check('phone width: no sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ['/', '/logs', '/upstreams/shop', '/routes/new']) {
      await page.goto(path);
      await page.locator('h1').waitFor();
      await page.waitForTimeout(300);
      const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(over <= 0, `${path} is ${over}px wider than the screen`);
    }
    await page.goto('/');
    await page.getByTestId('total-requests').waitFor();
    await shot('dashboard-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await check('an ended session sends the user back to the login page', async () => {
    await context.clearCookies();
    await page.goto('/logs');
    await page.getByText('Your session has ended').waitFor();
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await heading('Request log');
  });

  await check('changing the password, logging out and in with the new one', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Account' }).click();
    await heading('Account');
    await page.getByLabel('Current password').fill(password);
    await page.getByLabel('New password (at least 12 characters)').fill('short');
    await page.getByLabel('New password again').fill('short');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.locator('.has-error .field-error').first().waitFor();
    await page.getByLabel('New password (at least 12 characters)').fill('second-password-for-e2e');
    await page.getByLabel('New password again').fill('second-password-for-e2e');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();
    await shot('account');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Password', { exact: true }).waitFor();
    const r = await page.request.get('/api/v1/status');
    assert.equal(r.status(), 401, 'the session is over');
    await page.getByLabel('Password', { exact: true }).fill('second-password-for-e2e');
    await page.getByRole('button', { name: 'Log in' }).click();
    await heading('Dashboard');
  });

  await check('no request left the loopback and no script error', async () => {
    assert.deepEqual(external, [], 'external requests');
    assert.deepEqual(consoleErrors, [], 'page errors');
  });
  console.log(`${step} passed, 0 failed`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
