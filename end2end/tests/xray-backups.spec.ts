import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { expect, test, type Page } from '@playwright/test';
import { ADMIN, LoginPage, OPERATOR } from './pages/login-page';
import { ApiKeysPage } from './pages/api-keys-page';
import { BackupsPage } from './pages/backups-page';
import { CredentialsPage } from './pages/credentials-page';

// Backups of the e2e server's stand-in tenant with credentials stored on the Xray Credentials
// page. One history for all: serial.
test.describe.configure({ mode: 'serial' });

const run = promisify(execFile);
let secret = '';

/** Lets the next backup through the stand-in's 6-hour rule (earlier specs made backups). */
async function allowBackup(baseURL: string | undefined) {
  const port = new URL(baseURL ?? 'http://127.0.0.1:3100').port;
  const data = readFileSync(path.join(process.env.TMPDIR ?? tmpdir(), `xray-keys-e2e-${port}.data`), 'utf8').trim();
  const server = process.env.XK_SERVER_BIN;
  expect(server, 'XK_SERVER_BIN names the server binary').toBeTruthy();
  await run(server!, ['standin', 'allow-backup'], { env: { ...process.env, XRAY_KEYS_DATA_DIR: data } });
}

async function asOperator(page: Page) {
  await new LoginPage(page).signInAs(OPERATOR, '/xray-backups');
  const backups = new BackupsPage(page);
  await expect(backups.shell.heading).toHaveText('Xray Backups');
  await backups.shell.waitForHydration();
  return backups;
}

test('before any backup the health says it never backed up', async ({ page }, testInfo) => {
  const backups = await asOperator(page);
  await expect(backups.health).toContainText('Never backed up');
  await expect(backups.health).toContainText('No backup has run yet.');
  await expect(page.getByText('No backup has run yet. Run one now, or turn on the schedule.')).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('backups-never.png'), fullPage: true });
});

test('a wrong stored secret makes the health critical, with the way to fix it', async ({ page }, testInfo) => {
  await new LoginPage(page).signInAs(ADMIN, '/api-keys');
  const keys = new ApiKeysPage(page);
  await keys.createFor('backup-e2e', 'backup-e2e');
  await keys.dialog.getByRole('button', { name: 'Show Client Secret' }).click();
  const clientId = (await keys.secretText('Client Id').textContent()) ?? '';
  secret = (await keys.secretText('Client Secret').textContent()) ?? '';
  await keys.dialog.getByRole('button', { name: 'Close' }).click();
  const creds = new CredentialsPage(page);
  await creds.open();
  await creds.startEditing();
  await creds.clientId.fill(clientId);
  await creds.clientSecret.fill('0'.repeat(64));
  await creds.baseUrl.selectOption({ label: 'This server (xray-keys)' });
  await creds.save.click();
  await expect(creds.status).toHaveText('Invalid credentials');
  // The credentials page lists the check and the backups' health beside it.
  await expect(page.getByRole('table', { name: 'Recent checks' }).getByRole('row').nth(1)).toContainText('Connection test');
  await expect(page.getByTestId('backup-health')).toContainText('Critical');

  const backups = new BackupsPage(page);
  await backups.open();
  await expect(page.getByText('Backs up your Xray test data (tests, preconditions, test sets, test plans, test executions and their runs)')).toBeVisible();
  await expect(backups.health).toContainText('Critical');
  await expect(backups.health).toContainText('Xray Credentials are no longer valid. Update them on the Xray Credentials page.');
  await page.screenshot({ path: testInfo.outputPath('backups-critical.png'), fullPage: true });
  await backups.health.getByRole('link', { name: 'Go to Xray Credentials' }).click();
  await expect(creds.shell.heading).toHaveText('Xray Credentials');

  // Fixed with the right secret, the check passes again.
  await creds.startEditing();
  await creds.clientSecret.fill(secret);
  await creds.save.click();
  await expect(creds.status).toHaveText('Connected');
});

test('Run backup now shows its progress live and ends Succeeded; health turns healthy', async ({ page, baseURL }, testInfo) => {
  await allowBackup(baseURL);
  const backups = await asOperator(page);
  await backups.runNow.click();
  await expect(backups.flash.getByRole('status')).toContainText(/Backup run \d+ started/);
  // The stand-in's job takes 4 seconds and is polled every second: its progress shows.
  await expect(backups.runPanel.getByRole('status')).toContainText(/Waiting for Xray \(\d+%\)/, { timeout: 15_000 });
  await page.screenshot({ path: testInfo.outputPath('backups-running.png'), fullPage: true });
  await expect(backups.cancelRun).toBeVisible();
  await expect(backups.runPanel).toContainText('No backup is running.', { timeout: 30_000 });
  const first = backups.history.getByRole('row').nth(1);
  await expect(first.locator('.lozenge')).toHaveText('Succeeded');
  await expect(first).toContainText('Manual');
  await expect(backups.health).toContainText('Healthy');
  await expect(backups.health).toContainText(/Last successful backup (just now|1 minute ago)\./);
  await page.screenshot({ path: testInfo.outputPath('backups-succeeded.png'), fullPage: true });
  expect(await page.content()).not.toContain(secret);
});

test('Details show the timeline, files with SHA-256 and counts; downloads arrive whole', async ({ page }) => {
  const backups = await asOperator(page);
  const first = backups.history.getByRole('row').nth(1);
  await first.getByRole('link', { name: /^Details of run/ }).click();
  await expect(backups.details.getByRole('heading', { level: 2 })).toHaveText(/^Run \d+$/);
  await expect(backups.details).toContainText('Authenticating at');
  await expect(backups.details).toContainText('Xray is working');
  await expect(backups.details).toContainText('Backed up 20 tests');
  const files = backups.details.getByRole('table', { name: 'Files' });
  await expect(files.getByRole('row').nth(1)).toContainText('data.zip');
  const sha = ((await files.getByRole('row').nth(1).locator('td').nth(2).textContent()) ?? '').trim();
  expect(sha).toMatch(/^[0-9a-f]{64}$/);
  await expect(backups.details).toContainText('tests');

  const downloading = page.waitForEvent('download');
  await first.getByRole('link', { name: /^Download data of run/ }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^xray-backup-\d+-data\.zip$/);
  const bytes = readFileSync((await download.path())!);
  const { createHash } = await import('node:crypto');
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha);
  const log = await page.request.get(`/xray-backups/runs/${download.suggestedFilename().split('-')[2]}/log.txt`);
  expect(log.status()).toBe(200);
  const text = await log.text();
  expect(text).toContain('Succeeded: Backed up 20 tests');
  expect(text).not.toContain(secret);
  await backups.details.getByRole('link', { name: 'Close details' }).click();
  await expect(backups.details).toHaveCount(0);
});

test('a second run within 6 hours is postponed and the health says so', async ({ page }) => {
  const backups = await asOperator(page);
  await backups.runAndWait('Postponed');
  await expect(backups.health).toContainText('Unhealthy');
  await expect(backups.health).toContainText('The last backup was postponed. Xray allows one backup every 6 hours; trying again at');
});

test('the schedule is edited, checked field by field, saved, and Cancel changes nothing', async ({ page }, testInfo) => {
  const backups = await asOperator(page);
  await expect(backups.schedule).toContainText('Off');
  await backups.editSchedule.click();
  await expect(backups.scheduleForm).toBeVisible();
  await backups.scheduleForm.getByLabel('Scheduled backups').check();
  await backups.scheduleForm.getByLabel('Daily at (UTC)').selectOption({ label: '03:30' });
  await backups.scheduleForm.getByLabel('Only these project ids').check();
  await backups.scheduleForm.getByRole('textbox', { name: 'Project ids' }).fill('10000, PRJ');
  await backups.scheduleForm.getByLabel('Keep backups for (days)').fill('0');
  await backups.scheduleForm.getByRole('button', { name: 'Save' }).click();
  await expect(backups.scheduleForm.getByText("'PRJ' is not a project id (digits, such as 10000).")).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('backups-schedule-errors.png'), fullPage: true });
  await backups.scheduleForm.getByRole('textbox', { name: 'Project ids' }).fill('10000');
  await backups.scheduleForm.getByRole('button', { name: 'Save' }).click();
  await expect(backups.scheduleForm.getByText('Keep backups for 1 to 3650 days.')).toBeVisible();
  await backups.scheduleForm.getByLabel('Keep backups for (days)').fill('14');
  await backups.scheduleForm.getByLabel('Incremental: only what changed since the last successful backup').check();
  await backups.scheduleForm.getByRole('button', { name: 'Save' }).click();
  await expect(backups.flash.getByRole('status')).toHaveText('Schedule saved. Backups run daily at 03:30 UTC.');
  await expect(backups.schedule).toContainText('Daily at 03:30 UTC');
  await expect(backups.schedule).toContainText('Only 10000');
  await expect(backups.schedule).toContainText('Incremental');
  await expect(backups.schedule).toContainText('14 days, and always the last 3 successful');

  await backups.editSchedule.click();
  await backups.scheduleForm.getByLabel('Wait at most (minutes)').fill('5');
  await backups.scheduleForm.getByRole('button', { name: 'Cancel' }).click();
  await expect(backups.scheduleForm).toHaveCount(0);
  await expect(backups.editSchedule).toBeFocused();
  await expect(backups.schedule).toContainText('240 minutes');
});

test('works by keyboard alone and at phone width', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const backups = await asOperator(page);
  await backups.editSchedule.focus();
  await page.keyboard.press('Enter');
  await expect(backups.scheduleForm).toBeVisible();
  await expect(backups.scheduleForm.getByLabel('Scheduled backups')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(backups.editSchedule).toBeFocused();
  await expect(backups.scheduleForm).toHaveCount(0);
  const details = backups.history.getByRole('link', { name: /^Details of run/ }).first();
  await details.focus();
  await page.keyboard.press('Enter');
  await expect(backups.details).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: testInfo.outputPath('backups-phone.png'), fullPage: true });
});
