import { expect, test, type Page } from '@playwright/test';
import { ADMIN, LoginPage, OPERATOR } from './pages/login-page';
import { ApiKeysPage } from './pages/api-keys-page';
import { CredentialsPage } from './pages/credentials-page';

// One set of credentials exists per server, so these tests build on each other in order.
test.describe.configure({ mode: 'serial' });

const WRONG_SECRET = '0'.repeat(64);
let issued: { clientId: string; clientSecret: string } | undefined;

async function asOperator(page: Page) {
  await new LoginPage(page).signInAs(OPERATOR, '/xray-credentials');
  return new CredentialsPage(page);
}

test('explains the credentials and says that none are stored yet', async ({ page }, testInfo) => {
  const creds = await asOperator(page);
  await expect(creds.empty).toBeVisible();
  await expect(page.getByText('Without them, backups skip all Xray data.')).toBeVisible();
  await page.getByText('How to get a Client ID and Client secret').click();
  await expect(page.getByText('revyz-backup-user')).toBeVisible();
  // A backup operator who is not an administrator gets no link to a page they cannot open.
  await expect(page.getByRole('link', { name: 'API Keys page' })).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('credentials-empty.png'), fullPage: true });
});

test('marks required fields and shows each error next to its field, saving nothing', async ({ page }, testInfo) => {
  const creds = await asOperator(page);
  await creds.startEditing();
  await expect(page.getByText('Fields marked * are required.')).toBeVisible();
  await creds.clientId.fill('  8CF3 ');
  await creds.save.click();
  await expect(creds.fieldError(creds.clientId)).toHaveText(/32 hexadecimal characters .*this has 4/);
  await expect(creds.fieldError(creds.clientSecret)).toHaveText('Enter the Client secret.');
  await expect(creds.clientId).toHaveAttribute('aria-invalid', 'true');
  await expect(creds.clientId).toBeFocused();
  await page.screenshot({ path: testInfo.outputPath('credentials-errors.png'), fullPage: true });
  await creds.open();
  await expect(creds.empty).toBeVisible();
});

test('cancel leaves edit mode and changes nothing', async ({ page }) => {
  const creds = await asOperator(page);
  await creds.startEditing();
  await creds.clientId.fill('8CF3CEA946DB4059A9999D3AF4035EFE');
  await creds.clientSecret.fill(WRONG_SECRET);
  await creds.cancel.click();
  await expect(creds.form).toHaveCount(0);
  await expect(creds.flash.getByRole('status')).toHaveText('Nothing was changed.');
  await expect(creds.empty).toBeVisible();
  await expect(creds.addButton).toBeFocused();
});

test('saves a key created on the API Keys page and reports it connected', async ({ page }, testInfo) => {
  await new LoginPage(page).signInAs(ADMIN, '/api-keys');
  const keys = new ApiKeysPage(page);
  await keys.createFor('xray-back', 'xray-backup');
  await keys.dialog.getByRole('button', { name: 'Show Client Secret' }).click();
  issued = {
    clientId: (await keys.secretText('Client Id').textContent()) ?? '',
    clientSecret: (await keys.secretText('Client Secret').textContent()) ?? '',
  };
  expect(issued.clientSecret).toMatch(/^[0-9a-f]{64}$/);
  await keys.dialog.getByRole('button', { name: 'Close' }).click();

  const creds = new CredentialsPage(page);
  await creds.open();
  // An administrator is pointed at this server's own API Keys page.
  await page.getByText('How to get a Client ID and Client secret').click();
  await expect(page.getByRole('link', { name: 'API Keys page' })).toBeVisible();
  await creds.startEditing();
  await creds.clientId.fill(` ${issued.clientId} `);
  await creds.clientSecret.fill(issued.clientSecret);
  await creds.baseUrl.selectOption({ label: 'This server (xray-keys)' });
  await creds.save.click();
  await expect(creds.flash.getByRole('status')).toContainText('The Xray credentials were saved. Connection test:');
  await expect(creds.flash).toContainText('requests act as User xray-backup (xray-backup)');
  await expect(creds.status).toHaveText('Connected');
  await expect(page.getByTestId('client-id')).toHaveText(issued.clientId);
  await expect(page.getByText('••••••••••••••••')).toBeVisible();
  await expect(creds.editButton).toBeFocused();
  await page.screenshot({ path: testInfo.outputPath('credentials-connected.png'), fullPage: true });
  // Neither the live page nor a fresh server render holds the secret.
  expect(await page.content()).not.toContain(issued.clientSecret);
  const html = await (await page.request.get('/xray-credentials')).text();
  expect(html).toContain(issued.clientId);
  expect(html).not.toContain(issued.clientSecret);
});

test('leaving the secret empty keeps the stored one', async ({ page }) => {
  const creds = await asOperator(page);
  await creds.startEditing();
  await expect(creds.clientSecret).toHaveValue('');
  await expect(creds.clientSecret).toHaveAttribute('placeholder', 'Leave empty to keep the stored secret');
  await expect(page.getByText(/A secret is stored and is never shown\. Leave empty to keep the stored secret/)).toBeVisible();
  await expect(creds.clientId).toHaveValue(issued?.clientId ?? '');
  await creds.save.click();
  await expect(creds.flash.getByRole('status')).toContainText('The Xray credentials were saved.');
  // Connected again: the kept secret is the stored one.
  await expect(creds.status).toHaveText('Connected');
});

test('changing the API or the Client ID asks for the secret again before saving', async ({ page }, testInfo) => {
  const creds = await asOperator(page);
  const again = page.getByText('Enter the Client secret again: a stored secret is only sent to the Xray API it was saved for.');
  await creds.startEditing();
  await expect(again).toHaveCount(0);
  await creds.baseUrl.selectOption({ label: 'Xray Cloud, EU: https://eu.xray.cloud.getxray.app/api' });
  await expect(again).toBeVisible();
  await expect(creds.clientSecret).toHaveAttribute('placeholder', '');
  await expect(creds.clientSecret).toHaveAttribute('aria-required', 'true');
  await creds.save.click();
  await expect(creds.clientSecret).toBeFocused();
  await expect(creds.clientSecret).toHaveAttribute('aria-invalid', 'true');
  await expect(creds.form).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('credentials-reenter.png'), fullPage: true });
  // Back to the stored API: the hint goes, the stored secret may be kept again.
  await creds.baseUrl.selectOption({ label: 'This server (xray-keys)' });
  await expect(again).toHaveCount(0);
  await expect(creds.clientSecret).toHaveAttribute('aria-invalid', 'false');
  await creds.clientId.fill('0123456789ABCDEF0123456789ABCDEF');
  await expect(again).toBeVisible();
  await creds.cancel.click();
  await expect(creds.status).toHaveText('Connected');
});

test('a wrong secret is saved but reported as invalid credentials', async ({ page }, testInfo) => {
  const creds = await asOperator(page);
  await creds.startEditing();
  await creds.clientSecret.fill(WRONG_SECRET);
  await creds.save.click();
  await expect(creds.flash.getByRole('status')).toContainText(
    'The Xray credentials were saved, but the connection test failed: The API refused the Client ID and Client secret (401).',
  );
  await expect(creds.status).toHaveText('Invalid credentials');
  await page.screenshot({ path: testInfo.outputPath('credentials-invalid.png'), fullPage: true });
});

test('the connection can be tested again from view mode', async ({ page }) => {
  const creds = await asOperator(page);
  await expect(creds.status).toHaveText('Invalid credentials');
  await creds.testButton.click();
  await expect(creds.flash.getByRole('status')).toContainText('Connection test failed: The API refused');
  await expect(creds.testButton).toBeEnabled();
});

test('works by keyboard alone and at phone width', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const creds = await asOperator(page);
  await creds.editButton.focus();
  await page.keyboard.press('Enter');
  await expect(creds.clientId).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(creds.clientSecret).toBeFocused();
  await page.keyboard.type(issued?.clientSecret ?? '');
  await page.keyboard.press('Enter');
  await expect(creds.status).toHaveText('Connected');
  await expect(creds.editButton).toBeFocused();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: testInfo.outputPath('credentials-phone.png'), fullPage: true });
});
