import { expect, test } from '@playwright/test';
import { ADMIN, LoginPage, OPERATOR } from './pages/login-page';
import { UsersPage } from './pages/users-page';

test('an administrator signs in and is taken back where they were going', async ({ page }, testInfo) => {
  await page.goto('/users');
  await expect(page).toHaveURL(/\/login\?next=%2Fusers|\/login\?next=\/users/);
  const login = new LoginPage(page);
  await login.waitUntilShown();
  await page.screenshot({ path: testInfo.outputPath('sign-in.png') });
  await login.signIn(ADMIN);
  await page.waitForURL('**/users');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Users');
  await expect(page.getByText('Signed in as')).toContainText('Administrator');
});

test('a wrong password says so without telling which field was wrong', async ({ page }, testInfo) => {
  const login = new LoginPage(page);
  await login.open();
  await login.signIn({ userKey: ADMIN.userKey, password: 'not the password' });
  await expect(login.error).toHaveText('The user key or password is wrong.');
  await page.screenshot({ path: testInfo.outputPath('wrong-password.png') });
});

test('after a wrong password the right one signs in and leads on', async ({ page }) => {
  const login = new LoginPage(page);
  await login.open('/users');
  await login.signIn({ userKey: ADMIN.userKey, password: 'not the password' });
  await expect(login.error).toHaveText('The user key or password is wrong.');
  await login.signIn(ADMIN);
  await page.waitForURL('**/users');
  await login.shell.waitForHydration();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Users');
  expect(login.shell.consoleErrors).toEqual([]);
});

test('the sign-in page downloads no script and shows the brand alone above its form', async ({ page }, testInfo) => {
  const scripts: string[] = [];
  page.on('request', (request) => {
    if (['script', 'fetch'].includes(request.resourceType()) || request.url().endsWith('.wasm')) {
      scripts.push(request.url());
    }
  });
  await page.setViewportSize({ width: 390, height: 844 });
  const login = new LoginPage(page);
  await login.open();
  await page.waitForLoadState('load');
  await expect(page.getByRole('link', { name: 'xray-keys' })).toBeVisible();
  await expect(login.shell.menuButton).toHaveCount(0);
  await expect(login.shell.nav).toHaveCount(0);
  await expect(login.userKey).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('sign-in-phone.png'), fullPage: true });
  expect(scripts).toEqual([]);
});

test('a backup operator is shown the no-access page on the Users page', async ({ page }, testInfo) => {
  const login = new LoginPage(page);
  await login.signInAs(OPERATOR);
  const response = await page.goto('/users');
  expect(response?.status()).toBe(403);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText("You don't have access to this page");
  await page.screenshot({ path: testInfo.outputPath('forbidden.png') });
});

test('signing out ends the session', async ({ page }) => {
  const login = new LoginPage(page);
  await login.signInAs(ADMIN);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/login');
  await login.waitUntilShown();
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  await page.goto('/users');
  await expect(page).toHaveURL(/\/login/);
});

test.describe('the Users page', () => {
  test.beforeEach(async ({ page }) => {
    await new LoginPage(page).signInAs(ADMIN, '/users');
  });

  test('adds a user and finds it by name', async ({ page }, testInfo) => {
    const users = new UsersPage(page);
    await users.add({ userKey: 'nightly-backup', name: 'Nightly Backup', email: 'backup@example.com', backupOperator: true });
    await expect(users.status).toHaveText('User nightly-backup was added.');
    await users.searchFor('nightly back');
    await expect(page).toHaveURL(/q=nightly/);
    await expect(users.row('nightly-backup')).toContainText('Backup operator');
    await page.screenshot({ path: testInfo.outputPath('users-added.png'), fullPage: true });
  });

  test('refuses a duplicate user key with a clear message', async ({ page }) => {
    const users = new UsersPage(page);
    await users.add({ userKey: 'ADMIN', name: 'Second admin' });
    await expect(page.getByRole('alert')).toContainText('A user with key ADMIN already exists.');
  });

  test('edits roles, deactivates and reactivates a user', async ({ page }, testInfo) => {
    const users = new UsersPage(page);
    await users.add({ userKey: 'jdoe', name: 'Jane Doe' });
    await expect(users.status).toContainText('jdoe was added');
    await users.row('jdoe').getByRole('button', { name: 'Edit jdoe' }).click();
    const form = page.getByRole('region', { name: 'Edit user jdoe' });
    await form.getByLabel('Display name').fill('Jane Q. Doe');
    await form.getByLabel('Backup operator').check();
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(users.status).toHaveText('User jdoe was saved.');
    await expect(users.row('jdoe')).toContainText('Jane Q. Doe');
    await expect(users.row('jdoe')).toContainText('Backup operator');

    await users.row('jdoe').getByRole('button', { name: 'Deactivate jdoe' }).click();
    await expect(users.status).toContainText('User jdoe was deactivated');
    await expect(users.row('jdoe')).toContainText('Inactive');
    await page.screenshot({ path: testInfo.outputPath('users-deactivated.png'), fullPage: true });
    await users.row('jdoe').getByRole('button', { name: 'Reactivate jdoe' }).click();
    await expect(users.status).toHaveText('User jdoe was reactivated.');
  });

  test('resets a password, and the user can sign in with it', async ({ page, browser }) => {
    const users = new UsersPage(page);
    await users.add({ userKey: 'newop', name: 'New Operator', backupOperator: true });
    await expect(users.status).toContainText('newop was added');
    // Found by search: the seeded users may push a new one past the first page.
    await users.searchFor('newop');
    await users.row('newop').getByRole('button', { name: 'Edit newop' }).click();
    const form = page.getByRole('region', { name: 'Edit user newop' });
    await form.getByLabel('New password').fill('brand new password 1');
    await form.getByRole('button', { name: 'Reset password' }).click();
    await expect(users.status).toHaveText("The password was changed; the user's sessions ended.");

    const other = await browser.newContext();
    const login = new LoginPage(await other.newPage());
    await login.signInAs({ userKey: 'newop', password: 'brand new password 1' });
    await other.close();
  });
});
