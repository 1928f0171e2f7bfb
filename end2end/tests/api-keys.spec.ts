import { expect, test } from '@playwright/test';
import { ADMIN, LoginPage } from './pages/login-page';
import { ApiKeysPage } from './pages/api-keys-page';

test.beforeEach(async ({ page }) => {
  await new LoginPage(page).signInAs(ADMIN, '/api-keys');
});

test('creates an API key for a picked user and shows its secret once', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.createFor('revyz', 'revyz-backup-user');
  await expect(keys.dialog.getByText('API Key was successfully generated.')).toBeVisible();
  await expect(keys.dialog).toContainText(
    'API Key for user with key revyz-backup-user was generated successfully. You can now search a new user and generate an API Key for him/her.',
  );
  await expect(keys.secretText('Client Id')).toHaveText(/^[0-9A-F]{32}$/);
  await expect(keys.secretText('Client Secret')).not.toHaveText(/[0-9a-f]{64}/);
  await keys.dialog.getByRole('button', { name: 'Show Client Secret' }).click();
  await expect(keys.secretText('Client Secret')).toHaveText(/^[0-9a-f]{64}$/);
  await page.screenshot({ path: testInfo.outputPath('create-generated.png') });
  // Ready for the next user.
  await expect(keys.dialog.getByRole('combobox', { name: 'User' })).toHaveValue('');
  await keys.dialog.getByRole('button', { name: 'Close' }).click();
  await keys.searchFor('revyz');
  await expect(keys.row('revyz-backup-user')).toContainText('*****');
});

test('refuses a second key for a user who has one', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.createFor('del-me', 'del-me');
  await expect(keys.dialog.getByRole('alert')).toHaveText(
    'User with key del-me already has an API Key. Regenerate its Client Secret instead.',
  );
  await page.screenshot({ path: testInfo.outputPath('create-duplicate.png') });
});

test('copies the new Client Id and Client Secret to the clipboard', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.createFor('ci-b', 'ci-bot');
  await keys.dialog.getByRole('button', { name: 'Copy Client Secret' }).click();
  await expect(keys.dialog.getByRole('button', { name: 'Copy Client Secret' })).toHaveText('Copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toMatch(/^[0-9a-f]{64}$/);
  await keys.dialog.getByRole('button', { name: 'Show Client Secret' }).click();
  await expect(keys.secretText('Client Secret')).toHaveText(copied);
  await keys.dialog.getByRole('button', { name: 'Copy Client Id' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await keys.secretText('Client Id').textContent());
  await page.screenshot({ path: testInfo.outputPath('copy.png') });
});

test('deletes a key after confirmation', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('del-me');
  await keys.row('del-me').getByRole('button', { name: 'Delete' }).click();
  await expect(keys.dialog.getByRole('heading')).toHaveText('Delete API Key for user with key del-me');
  await keys.expectModal();
  await expect(keys.dialog).toContainText('Are you sure you want to delete the API key for the user with key del-me?');
  await page.screenshot({ path: testInfo.outputPath('delete-confirm.png') });
  await keys.dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(keys.status).toHaveText('API Key for user with key del-me was deleted.');
  await expect(keys.empty).toBeVisible();
});

test('regenerates a Client Secret after confirmation and shows it once', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('regen-me');
  const clientId = await keys.row('regen-me').locator('td').nth(2).textContent();
  await keys.row('regen-me').getByRole('button', { name: 'Regenerate Client Secret' }).click();
  await keys.expectModal();
  await keys.dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(keys.dialog.getByRole('heading')).toHaveText('New Client Secret');
  await keys.expectModal();
  await expect(keys.secretText('Client Id')).toHaveText(clientId!.trim());
  await page.screenshot({ path: testInfo.outputPath('regenerated.png') });
  await keys.dialog.getByRole('button', { name: 'Done' }).click();
  await expect(keys.status).toHaveText('The Client Secret of the API Key for user with key regen-me was regenerated.');
  await expect(page.locator('body')).not.toContainText(/[0-9a-f]{64}/);
});

test('All selects every key matching the search, across pages', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('seed');
  await keys.choose('All');
  await expect(keys.selectedButton).toHaveText('(25) Selected');
  await expect(keys.bodyRows()).toHaveCount(10);
  await page.screenshot({ path: testInfo.outputPath('select-all.png') });
});

test('Current Page selects the keys on this page', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('seed');
  await keys.choose('Current Page');
  await expect(keys.selectedButton).toHaveText('(10) Selected');
  await expect(keys.bodyRows().locator('input[type=checkbox]:checked')).toHaveCount(10);
  await page.screenshot({ path: testInfo.outputPath('select-current-page.png'), fullPage: true });
});

test('None clears the selection', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('seed');
  await keys.choose('All');
  await expect(keys.selectedButton).toBeVisible();
  await keys.choose('None');
  await expect(keys.selectedButton).toBeHidden();
  await page.screenshot({ path: testInfo.outputPath('select-none.png') });
});

test('bulk regenerate shows every new secret with copy all and a CSV download', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('bulk-');
  await keys.choose('All');
  await expect(keys.selectedButton).toHaveText('(3) Selected');
  await keys.bulk('Regenerate Client Secret');
  await keys.expectModal();
  await keys.dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(keys.dialog.getByRole('heading')).toHaveText('New Client Secrets of 3 API Keys');
  // The list reloads behind the dialog; the dialog stays modal.
  await expect(keys.status).toHaveText('The Client Secrets of 3 API Keys were regenerated.');
  await keys.expectModal();
  await keys.dialog.getByRole('button', { name: 'Copy all' }).click();
  const csv = await page.evaluate(() => navigator.clipboard.readText());
  expect(csv.trim().split('\n')).toHaveLength(4);
  expect(csv).toMatch(/^user_key,client_id,client_secret\nbulk-a,[0-9A-F]{32},[0-9a-f]{64}\n/);
  const download = page.waitForEvent('download');
  await keys.dialog.getByRole('button', { name: 'Download CSV' }).click();
  expect((await download).suggestedFilename()).toBe('api-keys.csv');
  await page.screenshot({ path: testInfo.outputPath('bulk-regenerated.png'), fullPage: true });
  await keys.dialog.getByRole('button', { name: 'Done' }).click();
  await expect(keys.dialog).toBeHidden();
  await expect(keys.status).toHaveText('The Client Secrets of 3 API Keys were regenerated.');
});

test('bulk delete removes the ticked keys after confirmation', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('seed-00002');
  await keys.row('seed-000023').getByRole('checkbox').check();
  await keys.row('seed-000024').getByRole('checkbox').check();
  await expect(keys.selectedButton).toHaveText('(2) Selected');
  await keys.bulk('Delete');
  await expect(keys.dialog.getByRole('heading')).toHaveText('Delete 2 API Keys');
  await keys.expectModal();
  await expect(keys.dialog).toContainText('Are you sure you want to delete 2 API Keys?');
  await page.screenshot({ path: testInfo.outputPath('bulk-delete-confirm.png') });
  await keys.dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(keys.status).toHaveText('2 API Keys were deleted.');
  await expect(keys.bodyRows()).toHaveCount(3);
});

test('the row boxes follow the selection, and clearing one under All keeps the rest of the page', async ({ page }) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('seed-00001');
  await expect(keys.bodyRows()).toHaveCount(10);
  await keys.choose('All');
  await expect(keys.selectedButton).toHaveText('(10) Selected');
  await expect(keys.bodyRows().getByRole('checkbox', { checked: true })).toHaveCount(10);
  await keys.row('seed-000012').getByRole('checkbox').uncheck();
  await expect(keys.selectedButton).toHaveText('(9) Selected');
  await expect(keys.row('seed-000012')).toHaveAttribute('aria-selected', 'false');
  await expect(keys.row('seed-000013')).toHaveAttribute('aria-selected', 'true');
  await keys.choose('None');
  await expect(keys.bodyRows().getByRole('checkbox', { checked: true })).toHaveCount(0);
});

test('Escape closes the Select menu and gives focus back to its button', async ({ page }) => {
  const keys = new ApiKeysPage(page);
  await keys.open();
  await keys.selectButton.focus();
  await page.keyboard.press('Enter');
  const menu = page.getByRole('menu', { name: 'Select' });
  await expect(menu).toBeVisible();
  await page.keyboard.press('Tab');
  await expect(menu.getByRole('menuitem', { name: 'All', exact: true })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(menu).toBeHidden();
  await expect(keys.selectButton).toBeFocused();
  await expect(keys.selectButton).toHaveAttribute('aria-expanded', 'false');
});

test('search filters as you type and lives in the URL', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('seed-00001');
  await expect(keys.bodyRows()).toHaveCount(10);
  await expect(keys.row('seed-000015')).toBeVisible();
  await page.reload();
  await keys.shell.waitForHydration();
  await expect(keys.search).toHaveValue('seed-00001');
  await expect(keys.bodyRows()).toHaveCount(10);
  await page.screenshot({ path: testInfo.outputPath('search.png') });
});

test('page size shows more rows per page', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.open('?q=seed');
  await keys.pageSize.selectOption('20');
  await expect(page).toHaveURL(/size=20/);
  await expect(keys.bodyRows()).toHaveCount(20);
  await page.screenshot({ path: testInfo.outputPath('page-size-20.png'), fullPage: true });
});

test('Prev and Next move between pages from the keys shown, and back works', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.open('?q=seed');
  await expect(keys.row('seed-000000')).toBeVisible();
  await page.getByRole('link', { name: 'Next' }).click();
  // Next starts after the last key shown (keyset paging), not at a count of rows.
  await expect(page).toHaveURL(/page=2&after=seed-000009/);
  await expect(keys.row('seed-000010')).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Pagination' }).locator('[aria-current="page"]')).toHaveText('2');
  await page.screenshot({ path: testInfo.outputPath('page-2.png'), fullPage: true });
  await page.goBack();
  await expect(keys.row('seed-000000')).toBeVisible();
  await page.getByRole('link', { name: 'Page 2' }).click();
  await expect(keys.row('seed-000010')).toBeVisible();
  await page.getByRole('link', { name: 'Prev' }).click();
  await expect(page).toHaveURL(/before=seed-000010/);
  await expect(keys.row('seed-000000')).toBeVisible();
});

test('a search with no match shows the empty state', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('no-such-key-anywhere');
  await expect(keys.empty).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('empty.png') });
});

test('dialogs work by keyboard: focus moves in, Esc closes, focus returns', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.searchFor('kbd-user');
  const deleteButton = keys.row('kbd-user').getByRole('button', { name: 'Delete' });
  await deleteButton.focus();
  await page.keyboard.press('Enter');
  await expect(keys.dialog).toBeVisible();
  await expect(keys.dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await expect(keys.dialog.getByRole('button', { name: 'Delete' })).toBeFocused();
  await page.screenshot({ path: testInfo.outputPath('keyboard-dialog.png') });
  await page.keyboard.press('Escape');
  await expect(keys.dialog).toBeHidden();
  await expect(deleteButton).toBeFocused();
  await expect(keys.row('kbd-user')).toBeVisible();
});

test('the Create API Key dialog works by keyboard alone and is modal', async ({ page }, testInfo) => {
  const keys = new ApiKeysPage(page);
  await keys.createButton.focus();
  await page.keyboard.press('Enter');
  await keys.expectModal();
  const picker = keys.dialog.getByRole('combobox', { name: 'User' });
  await expect(picker).toBeFocused();
  await page.keyboard.type('kbd-create');
  await expect(keys.dialog.getByRole('option', { name: /kbd-create/ })).toBeVisible();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(keys.dialog).toContainText('Selected: User kbd-create (kbd-create)');
  await page.keyboard.press('Tab');
  await expect(keys.dialog.getByLabel('Description (optional)')).toBeFocused();
  await page.keyboard.type('Made by keyboard');
  await page.keyboard.press('Tab');
  await expect(keys.dialog.getByLabel('Expires', { exact: true })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(keys.dialog.getByRole('button', { name: 'Generate' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(keys.dialog.getByText('API Key was successfully generated.')).toBeVisible();
  await keys.expectModal();
  await page.screenshot({ path: testInfo.outputPath('keyboard-create.png') });
  await page.keyboard.press('Escape');
  await expect(keys.dialog).toBeHidden();
  await expect(keys.createButton).toBeFocused();
});

test('at phone width the table scrolls and the dialogs fit', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const keys = new ApiKeysPage(page);
  await keys.open('?q=seed');
  await expect(keys.bodyRows()).toHaveCount(10);
  await page.screenshot({ path: testInfo.outputPath('phone-list.png'), fullPage: true });
  await keys.createButton.click();
  await keys.expectModal();
  const box = await keys.dialog.boundingBox();
  expect(box!.y).toBeGreaterThanOrEqual(0);
  expect(box!.y + box!.height).toBeLessThanOrEqual(844);
  expect(box!.width).toBeLessThanOrEqual(390);
  await page.screenshot({ path: testInfo.outputPath('phone-create.png') });
});
