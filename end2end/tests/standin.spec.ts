import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { ADMIN, LoginPage, OPERATOR } from './pages/login-page';
import { ApiKeysPage } from './pages/api-keys-page';
import { StandinPage } from './pages/standin-page';

// Real Xray clients, installed from their registries by scripts/setup.sh and run unchanged,
// report to the server's Xray Cloud stand-in with a key made on the API Keys page; the
// results are read back with GraphQL and shown on the stand-in page. One key for all: serial.
test.describe.configure({ mode: 'serial' });

const run = promisify(execFile);
const endToEnd = path.resolve(__dirname, '..');
// The seeded tenant's (scripts/e2e-server.sh) test plan.
const TEST_PLAN = 'XK-25';
let key = { id: '', secret: '' };

/** The environment of a child process: without the parent run's Playwright variables. */
function childEnv(extra: Record<string, string>) {
  const env: Record<string, string> = { NO_COLOR: '1', FORCE_COLOR: '0' };
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(TEST_|PW_|PLAYWRIGHT_)/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

/** A child's output whether it exited 0 or not (pytest exits 1 when a test failed). */
async function output(command: string, args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: endToEnd, env: childEnv(env), timeout: 120_000 });
    return { code: 0, text: stdout + stderr };
  } catch (e) {
    const failed = e as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, text: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

async function runsOf(request: APIRequestContext, execution: string) {
  const auth = await request.post('/api/v2/authenticate', { data: { client_id: key.id, client_secret: key.secret } });
  expect(auth.status()).toBe(200);
  const token = await auth.json();
  const answer = await request.post('/api/v2/graphql', {
    headers: { Authorization: `Bearer ${token}` },
    data: {
      query: `query($jql: String) { getTestExecutions(jql: $jql, limit: 1) { total results {
        testEnvironments testPlans(limit: 1) { results { jira(fields: ["key"]) } }
        testRuns(limit: 10) { results { status { name } executedById test { jira(fields: ["key"]) } } } } } }`,
      variables: { jql: `key = ${execution}` },
    },
  });
  expect(answer.status()).toBe(200);
  const body = await answer.json();
  expect(body.errors).toBeUndefined();
  expect(body.data.getTestExecutions.total).toBe(1);
  return body.data.getTestExecutions.results[0];
}

test('a key created on the API Keys page lets playwright-xray import a run that GraphQL and the page show', async ({ page, request, baseURL }, testInfo) => {
  await new LoginPage(page).signInAs(ADMIN, '/api-keys');
  const keys = new ApiKeysPage(page);
  await keys.createFor('ci-xray', 'ci-xray');
  await keys.dialog.getByRole('button', { name: 'Show Client Secret' }).click();
  key = {
    id: (await keys.secretText('Client Id').textContent())!.trim(),
    secret: (await keys.secretText('Client Secret').textContent())!.trim(),
  };
  expect(key.secret).toMatch(/^[0-9a-f]{64}$/);

  const child = await output('npx', ['playwright', 'test', '-c', 'clients/playwright-xray.config.ts'], {
    XK_XRAY_URL: baseURL!,
    XK_CLIENT_ID: key.id,
    XK_CLIENT_SECRET: key.secret,
    XK_TEST_PLAN: TEST_PLAN,
    XK_SUMMARY: 'Nightly from playwright-xray',
  });
  const created = child.text.match(/Test execution (XK-\d+) has been created/)?.[1];
  expect(created, child.text).toBeTruthy();

  const execution = await runsOf(request, created!);
  const runs = execution.testRuns.results.map((r: any) => `${r.test.jira.key} ${r.status.name} ${r.executedById}`).sort();
  expect(runs).toEqual(['XK-1 PASSED ci-xray', 'XK-2 PASSED ci-xray', 'XK-3 SKIPPED ci-xray']);
  expect(execution.testEnvironments).toEqual(['playwright-xray']);
  expect(execution.testPlans.results[0].jira.key).toBe(TEST_PLAN);

  const standin = new StandinPage(page);
  await standin.open();
  const row = standin.execution(created!);
  await expect(row).toContainText('Nightly from playwright-xray');
  await expect(row).toContainText('ci-xray');
  await expect(row.getByText('PASSED 2')).toBeVisible();
  await expect(row.getByText('SKIPPED 1')).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('standin-playwright-xray.png'), fullPage: true });
});

test('pytest-jira-xray reports passed and failed checks with the same key', async ({ page, request, baseURL }) => {
  expect(key.id, 'the key of the test before').not.toBe('');
  const venv = process.env.XK_CLIENTS_VENV;
  expect(venv, 'scripts/env.sh names the clients venv').toBeTruthy();
  const child = await output(
    path.join(venv!, 'bin', 'pytest'),
    ['clients/pytest', '-p', 'no:cacheprovider', '--jira-xray', '--cloud', '--client-secret-auth', '--testplan', TEST_PLAN],
    {
      XRAY_API_BASE_URL: baseURL!,
      XRAY_CLIENT_ID: key.id,
      XRAY_CLIENT_SECRET: key.secret,
      XRAY_EXECUTION_SUMMARY: 'Nightly from pytest-jira-xray',
    },
  );
  expect(child.code, 'one check fails on purpose').toBe(1);
  const created = child.text.match(/Test Execution Id: (XK-\d+)/)?.[1];
  expect(created, child.text).toBeTruthy();
  const execution = await runsOf(request, created!);
  const runs = execution.testRuns.results.map((r: any) => `${r.test.jira.key} ${r.status.name}`).sort();
  expect(runs).toEqual(['XK-4 PASSED', 'XK-5 FAILED']);

  await new LoginPage(page).signInAs(ADMIN, '/xray-standin');
  const standin = new StandinPage(page);
  await expect(standin.shell.heading).toHaveText('Xray stand-in');
  const row = standin.execution(created!);
  await expect(row).toContainText('Nightly from pytest-jira-xray');
  await expect(row.getByText('FAILED 1')).toBeVisible();
});

test('the stand-in page says it is a simulation and is reached from the navigation by keyboard', async ({ page }, testInfo) => {
  await new LoginPage(page).signInAs(ADMIN, '/');
  const standin = new StandinPage(page);
  await standin.shell.navLink('Xray stand-in').focus();
  await page.keyboard.press('Enter');
  await expect(standin.shell.heading).toHaveText('Xray stand-in');
  await expect(standin.note).toContainText('Simulation.');
  await expect(standin.note).toContainText('Standard: 300 requests per 5 minutes');
  await expect(page.getByRole('table', { name: 'Projects' }).getByRole('cell', { name: 'XK', exact: true })).toBeVisible();
  await expect(standin.faults).toContainText('None: the stand-in answers as a healthy Xray.');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: testInfo.outputPath('standin-phone.png'), fullPage: true });
});

test('a backup operator neither sees nor opens the stand-in page', async ({ page }) => {
  await new LoginPage(page).signInAs(OPERATOR, '/');
  const standin = new StandinPage(page);
  await expect(standin.shell.navLink('Xray Credentials')).toBeVisible();
  await expect(standin.shell.navLink('Xray stand-in')).toHaveCount(0);
  const response = await page.goto('/xray-standin');
  expect(response?.status()).toBe(403);
});

test('a script requests, polls and downloads a backup with the same key', async ({ request }) => {
  expect(key.id, 'the key of the first test').not.toBe('');
  const auth = await request.post('/api/v2/authenticate', { data: { client_id: key.id, client_secret: key.secret } });
  const headers = { Authorization: `Bearer ${await auth.json()}` };
  const requested = await request.post('/api/v2/backup', { headers, data: {} });
  expect(requested.status(), await requested.text()).toBe(200);
  const { jobId } = await requested.json();
  expect(jobId).toMatch(/^[0-9a-f]{32}$/);
  // A second one within 6 hours: Xray's refusal.
  const again = await request.post('/api/v2/backup', { headers, data: {} });
  expect(again.status()).toBe(400);
  expect((await again.json()).error).toMatch(/^A backup can be created once every 6 hours, you can create a new one in: 5 hours, 59 minutes and \d+ seconds?\.$/);
  // Poll as backup jobs do until the job is done (the e2e server's jobs take 4 seconds).
  let status: any = { status: 'working' };
  await expect
    .poll(
      async () => {
        status = await (await request.get(`/api/v2/backup/${jobId}/status`, { headers })).json();
        return status.status;
      },
      { intervals: [500], timeout: 20_000 },
    )
    .toBe('successful');
  expect(status.fileUrl).toMatch(/\/api\/v2\/backup\/file$/);
  // v2 answers with a one-time link; the client follows it and gets the zip.
  const redirect = await request.get('/api/v2/backup/file', { headers, maxRedirects: 0 });
  expect(redirect.status()).toBe(302);
  const link = redirect.headers()['location'];
  const file = await request.get(link);
  expect(file.status()).toBe(200);
  expect(file.headers()['content-type']).toBe('application/zip');
  const bytes = await file.body();
  expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
  expect(bytes.includes(Buffer.from('tests.json'))).toBe(true);
  expect(bytes.includes(Buffer.from('testexecutions.json'))).toBe(true);
  expect((await request.get(link)).status(), 'the link works once').toBe(404);
});
