import { expect, test } from '@playwright/test';
import { ADMIN, LoginPage } from './pages/login-page';
import { ApiKeysPage } from './pages/api-keys-page';
import { CredentialsPage } from './pages/credentials-page';
import { KeyPolicyPage } from './pages/key-policy-page';

// The policy test changes what the dialogs offer, and the handshake stores the one set of
// credentials: run in order.
test.describe.configure({ mode: 'serial' });

test.beforeEach(async ({ page }) => {
  await new LoginPage(page).signInAs(ADMIN, '/api-keys');
});

test('the table shows description, status, last use and expiry of each key', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('life-soon');
  await expect(keys.cell('life-soon', 'Description')).toHaveText('Jenkins CI');
  await expect(keys.cell('life-soon', 'Status')).toHaveText(/^Expires in [34] days$/);
  await expect(keys.cell('life-soon', 'Status').locator('.lozenge--warning')).toBeVisible();
  await expect(keys.cell('life-soon', 'Last used')).toHaveText('Never used');
  await expect(keys.cell('life-soon', 'Expires')).toHaveText(/^\d{4}-\d{2}-\d{2}$/);
  await page.screenshot({ path: testInfo.outputPath('lifecycle-columns.png'), fullPage: true });
});

test('the banner counts keys that expire soon and Show them sets the filter', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await expect(keys.banner).toHaveText(/1 API key expires within 7 days\.\s+Show them/);
  await page.screenshot({ path: testInfo.outputPath('lifecycle-banner.png') });
  await keys.banner.getByRole('link', { name: 'Show them' }).click();
  await expect(page).toHaveURL(/show=expiring/);
  await expect(keys.show).toHaveValue('expiring');
  await expect(keys.bodyRows()).toHaveCount(1);
  await expect(keys.row('life-soon')).toBeVisible();
});

test('the Show filter lives in the URL and combines with search', async ({ page }) => {
  const keys = new ApiKeysPage(page);
  await keys.show.selectOption({ label: 'Never used' });
  await expect(page).toHaveURL(/show=never-used/);
  await keys.searchFor('life-');
  await expect(page).toHaveURL(/show=never-used/);
  await expect(keys.row('life-edit')).toBeVisible();
  await page.reload();
  await keys.shell.waitForHydration();
  await expect(keys.show).toHaveValue('never-used');
  await expect(keys.search).toHaveValue('life-');
  await keys.show.selectOption({ label: 'Inactive' });
  await expect(keys.empty).toBeVisible();
});

test('a new key gets a description and an expiry', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.createButton.click();
  await keys.expectModal();
  await keys.pickUser('life-new', 'life-new');
  await keys.dialog.getByLabel('Description (optional)').fill('Revyz backup');
  await expect(keys.dialog.getByLabel('Description (optional)')).toHaveAttribute(
    'placeholder',
    'What uses this key? e.g. Revyz backup, Jenkins CI',
  );
  const expires = keys.dialog.getByLabel('Expires', { exact: true });
  await expect(expires.locator('option')).toHaveText(['Never', 'In 30 days', 'In 90 days', 'In 1 year', 'On date…']);
  await expires.selectOption({ label: 'In 30 days' });
  await page.screenshot({ path: testInfo.outputPath('lifecycle-create.png') });
  await keys.dialog.getByRole('button', { name: 'Generate' }).click();
  await expect(keys.dialog.getByText('API Key was successfully generated.')).toBeVisible();
  await keys.dialog.getByRole('button', { name: 'Close' }).click();
  await keys.searchFor('life-new');
  await expect(keys.cell('life-new', 'Description')).toHaveText('Revyz backup');
  await expect(keys.cell('life-new', 'Expires')).toHaveText(/^\d{4}-\d{2}-\d{2}$/);
});

test('Edit details changes the description and refuses a past date next to the fields', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('life-edit');
  await keys.rowAction('life-edit', 'Edit details');
  await keys.expectModal();
  await expect(keys.dialog.getByRole('heading')).toHaveText('Edit details of the API Key of life-edit');
  await keys.dialog.getByLabel('Description (optional)').fill('x'.repeat(201));
  // The field stops at 200 characters.
  await expect(keys.dialog.getByLabel('Description (optional)')).toHaveValue('x'.repeat(200));
  await keys.dialog.getByLabel('Description (optional)').fill('Nightly export');
  await keys.dialog.getByLabel('Expires', { exact: true }).selectOption({ label: 'On date…' });
  await keys.dialog.getByLabel('Expiry date (UTC)').fill('2020-01-01');
  await keys.dialog.getByRole('button', { name: 'Save' }).click();
  await expect(keys.dialog.getByRole('alert')).toHaveText('Choose a date after today');
  await page.screenshot({ path: testInfo.outputPath('lifecycle-edit-error.png') });
  await keys.dialog.getByLabel('Expires', { exact: true }).selectOption({ label: 'In 90 days' });
  await keys.dialog.getByRole('button', { name: 'Save' }).click();
  await expect(keys.status).toHaveText('The details of the API Key for user with key life-edit were saved.');
  await expect(keys.cell('life-edit', 'Description')).toHaveText('Nightly export');
  await expect(keys.cell('life-edit', 'Expires')).toHaveText(/^\d{4}-\d{2}-\d{2}$/);
});

test('Deactivate asks first; Reactivate says what happened', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('life-off');
  await keys.rowAction('life-off', 'Deactivate');
  await keys.expectModal();
  await expect(keys.dialog.getByRole('heading')).toHaveText(/^Deactivate API Key for user with key life-off$/);
  await expect(keys.dialog).toContainText(
    'Requests with this key will fail until you reactivate it. Tokens already issued stop working at once.',
  );
  await page.screenshot({ path: testInfo.outputPath('lifecycle-deactivate.png') });
  await keys.dialog.getByRole('button', { name: 'Deactivate' }).click();
  await expect(keys.status).toHaveText('API key for user with key life-off deactivated.');
  await expect(keys.cell('life-off', 'Status')).toHaveText('Inactive');
  await keys.rowAction('life-off', 'Reactivate');
  await expect(keys.status).toContainText('API key reactivated.');
  await expect(keys.cell('life-off', 'Status')).toHaveText('Active');
});

test('a grace period keeps the old secret working until revoked', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('life-grace');
  await keys.row('life-grace').getByRole('button', { name: 'Regenerate Client Secret' }).click();
  await keys.expectModal();
  const grace = keys.dialog.getByLabel('Keep the old secret working for');
  await expect(grace).toHaveValue('0');
  await expect(grace.locator('option')).toHaveText(['Stop it immediately', '1 hour', '24 hours', '7 days']);
  await grace.selectOption({ label: '24 hours' });
  await keys.dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(keys.dialog.getByRole('heading')).toHaveText('New Client Secret');
  await keys.dialog.getByRole('button', { name: 'Done' }).click();
  await expect(keys.cell('life-grace', 'Status')).toContainText(/Old secret works until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
  // A second regeneration says the running grace period ends.
  await keys.row('life-grace').getByRole('button', { name: 'Regenerate Client Secret' }).click();
  await expect(keys.dialog).toContainText('The previous old secret stops working now.');
  await page.screenshot({ path: testInfo.outputPath('lifecycle-regenerate-grace.png') });
  await keys.dialog.getByRole('button', { name: 'Cancel' }).click();
  await keys.rowAction('life-grace', 'Revoke old secret now');
  await keys.dialog.getByRole('button', { name: 'Revoke old secret' }).click();
  await expect(keys.status).toHaveText('The old secret of the API Key for user with key life-grace stopped working.');
  await expect(keys.cell('life-grace', 'Status')).toHaveText('Active');
});

test('bulk Set expiry and Deactivate confirm with a count and act on every selected key', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('life-many');
  await keys.choose('All');
  await expect(keys.selectedButton).toHaveText('(2) Selected');
  await keys.bulk('Set expiry…');
  await expect(keys.dialog.getByRole('heading')).toHaveText('Set the expiry of 2 API Keys?');
  await keys.dialog.getByLabel('Expires', { exact: true }).selectOption({ label: 'In 1 year' });
  await page.screenshot({ path: testInfo.outputPath('lifecycle-bulk-expiry.png') });
  await keys.dialog.getByRole('button', { name: 'Set expiry' }).click();
  await expect(keys.status).toHaveText('2 API Keys were given the new expiry.');
  await expect(keys.cell('life-many-1', 'Expires')).toHaveText(/^\d{4}-\d{2}-\d{2}$/);
  await keys.choose('All');
  await keys.bulk('Deactivate');
  await expect(keys.dialog.getByRole('heading')).toHaveText('Deactivate 2 API Keys?');
  await keys.dialog.getByRole('button', { name: 'Deactivate' }).click();
  await expect(keys.status).toHaveText('2 API Keys were deactivated.');
  await expect(keys.cell('life-many-2', 'Status')).toHaveText('Inactive');
});

test('the row menu and its dialogs work by keyboard alone', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('life-kbd');
  const more = keys.row('life-kbd').getByRole('button', { name: 'More actions for life-kbd' });
  await more.focus();
  await page.keyboard.press('Enter');
  await expect(more).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('menuitem', { name: 'Edit details' })).toBeFocused();
  await page.keyboard.press('Enter');
  await keys.expectModal();
  await page.keyboard.type('Typed by keyboard');
  await page.screenshot({ path: testInfo.outputPath('lifecycle-keyboard-edit.png') });
  await page.keyboard.press('Enter');
  await expect(keys.status).toHaveText('The details of the API Key for user with key life-kbd were saved.');
  await expect(keys.cell('life-kbd', 'Description')).toHaveText('Typed by keyboard');
});

test('Escape closes a row menu and gives focus back to its button', async ({ page }) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('life-kbd');
  const more = keys.row('life-kbd').getByRole('button', { name: 'More actions for life-kbd' });
  await more.focus();
  await page.keyboard.press('Enter');
  const menu = page.getByRole('menu', { name: 'Actions for life-kbd' });
  await page.keyboard.press('Tab');
  await expect(menu.getByRole('menuitem', { name: 'Edit details' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(menu).toBeHidden();
  await expect(more).toBeFocused();
  await expect(more).toHaveAttribute('aria-expanded', 'false');
});

test('the rotation handshake updates the Xray Credentials and shows where the key is used', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.createFor('handshake', 'handshake-user');
  await keys.dialog.getByRole('button', { name: 'Show Client Secret' }).click();
  const clientId = (await keys.secretText('Client Id').textContent()) ?? '';
  const secret = (await keys.secretText('Client Secret').textContent()) ?? '';
  await keys.dialog.getByRole('button', { name: 'Close' }).click();
  const creds = new CredentialsPage(page);
  await creds.open();
  await creds.startEditing();
  await creds.clientId.fill(clientId);
  await creds.clientSecret.fill(secret);
  await creds.baseUrl.selectOption({ label: 'This server (xray-keys)' });
  await creds.save.click();
  await expect(creds.status).toHaveText('Connected');

  await keys.open('?q=handshake-user');
  const usedBy = keys.cell('handshake-user', 'Description').getByRole('link', { name: 'Xray Credentials (backups)' });
  await expect(keys.cell('handshake-user', 'Description')).toContainText('Used by: Xray Credentials (backups)');
  await keys.row('handshake-user').getByRole('button', { name: 'Regenerate Client Secret' }).click();
  const follow = keys.dialog.getByLabel('Also update the Xray Credentials used by backups');
  await expect(follow).toBeChecked();
  await page.screenshot({ path: testInfo.outputPath('lifecycle-handshake.png') });
  await keys.dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(keys.dialog.getByRole('heading')).toHaveText('New Client Secret');
  await keys.dialog.getByRole('button', { name: 'Done' }).click();
  await expect(keys.status).toHaveText('API key regenerated. Xray Credentials updated and connected.');
  await usedBy.click();
  await expect(creds.shell.heading).toHaveText('Xray Credentials');
  await expect(page.getByTestId('issued-here')).toHaveText(
    /^Issued by this server to handshake-user · expires never · last used \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/,
  );
  await expect(creds.status).toHaveText('Connected');
  await page.screenshot({ path: testInfo.outputPath('lifecycle-credentials-issued.png'), fullPage: true });
});

test('at phone width the banner, the row menu and the dialogs fit', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const keys = new ApiKeysPage(page);
  await keys.open('?q=life-soon');
  await expect(keys.banner).toBeVisible();
  await keys.rowAction('life-soon', 'Edit details');
  await keys.expectModal();
  const box = await keys.dialog.boundingBox();
  expect(box!.width).toBeLessThanOrEqual(390);
  expect(box!.y + box!.height).toBeLessThanOrEqual(844);
  await page.screenshot({ path: testInfo.outputPath('lifecycle-phone-edit.png') });
});

test('the policy sets the default expiry and limits what the dialogs offer', async ({ page }, testInfo) => {
  const policy = new KeyPolicyPage(page);
  await policy.open();
  await policy.defaultExpiry.selectOption({ label: '90 days' });
  await policy.maxLifetime.fill('180');
  await policy.save.click();
  await expect(policy.status).toHaveText('API Key Policy saved.');
  await page.screenshot({ path: testInfo.outputPath('lifecycle-policy.png'), fullPage: true });
  await policy.applyMaximum.click();
  await expect(policy.dialog).toContainText(/^.*\d+ keys have no expiry or expire later\. They will expire on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\./s);
  await page.screenshot({ path: testInfo.outputPath('lifecycle-policy-apply.png') });
  await policy.dialog.getByRole('button', { name: 'Cancel' }).click();

  const keys = new ApiKeysPage(page);
  await keys.open();
  await keys.createButton.click();
  const expires = keys.dialog.getByLabel('Expires', { exact: true });
  await expect(expires).toHaveValue('90');
  await expect(expires.locator('option')).toHaveText(['In 30 days', 'In 90 days', 'On date…']);
  await expect(keys.dialog).toContainText('The policy allows at most 180 days from today.');
  await keys.dialog.getByRole('button', { name: 'Close' }).click();

  // Back to the defaults, for the suites after this one.
  await policy.open();
  await policy.defaultExpiry.selectOption({ label: 'Never' });
  await policy.maxLifetime.fill('');
  await policy.save.click();
  await expect(policy.status).toHaveText('API Key Policy saved.');
});
