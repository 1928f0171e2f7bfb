import { expect, test } from '@playwright/test';
import { FreshServer } from './support/fresh-server';
import { SetupPage } from './pages/setup-page';

// One server for the file: the link is used once, and the tests follow that order.
test.describe.configure({ mode: 'serial' });

let server: FreshServer;
const port = Number(process.env.XK_E2E_SETUP_PORT ?? 3150);

test.beforeAll(async () => {
  server = await FreshServer.start(port);
});

test.afterAll(async () => {
  await server?.stop();
});

test('a setup link with a wrong token says it is not valid', async ({ page }) => {
  const setup = new SetupPage(page);
  await setup.open(`${server.baseURL}/setup?token=not-the-token`);
  await expect(setup.invalidNotice).toBeVisible();
  await expect(setup.submit).toHaveCount(0);
});

test('passwords that differ are refused by field and nothing is created', async ({ page }) => {
  const setup = new SetupPage(page);
  await setup.open(server.setupLink);
  await setup.createAdministrator('first-admin', 'a long enough password', 'another long password');
  await expect(page.getByRole('alert').filter({ hasText: 'The passwords differ.' })).toBeVisible();
  await setup.open(server.setupLink);
  await expect(setup.submit).toBeVisible();
});

test('the printed setup link creates the first administrator, who is signed in', async ({ page }, testInfo) => {
  const setup = new SetupPage(page);
  await setup.open(server.setupLink);
  await expect(setup.shell.heading).toHaveText('Set up the first administrator');
  await page.screenshot({ path: testInfo.outputPath('setup.png') });
  await setup.createAdministrator('first-admin', 'a long enough password');
  await page.waitForURL(`${server.baseURL}/`);
  await expect(page.getByText('Signed in as')).toContainText('First Administrator');
});

test('the setup link stops working once an administrator exists', async ({ page }) => {
  const setup = new SetupPage(page);
  await setup.open(server.setupLink);
  await expect(setup.invalidNotice).toBeVisible();
});
