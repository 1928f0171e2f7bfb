import { expect, test, type Page } from '@playwright/test';
import { ADMIN, LoginPage } from './pages/login-page';
import { AppShell } from './pages/app-shell';

const MARKUP_NAME = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';

/** Records Content-Security-Policy violations of every document the page loads. */
async function recordViolations(page: Page) {
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
}

test('no page breaks its content security policy', async ({ page }) => {
  await recordViolations(page);
  await new LoginPage(page).signInAs(ADMIN, '/');
  const shell = new AppShell(page);
  for (const path of ['/', '/api-keys', '/xray-credentials', '/users', '/audit', '/no-such-page']) {
    await shell.goto(path);
    // The page is live (hydrated): the WASM module was allowed to load and run.
    await shell.menuButton.isVisible();
    expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp), path).toEqual([]);
    // The unknown page's own 404 is the one console error Chromium logs, and is expected.
    if (path !== '/no-such-page') expect(shell.consoleErrors, path).toEqual([]);
  }
});

test('a user name made of markup shows as text and runs nothing', async ({ page }, testInfo) => {
  await new LoginPage(page).signInAs(ADMIN, '/users?q=xss-user');
  await expect(page.getByText(MARKUP_NAME, { exact: true }).first()).toBeVisible();
  await new AppShell(page).goto('/api-keys');
  await page.getByRole('button', { name: 'Create API Key' }).click();
  await page.getByRole('dialog').getByRole('combobox', { name: 'User' }).fill('xss');
  await expect(page.getByRole('option', { name: /xss-user/ })).toContainText(MARKUP_NAME);
  await page.screenshot({ path: testInfo.outputPath('markup-name.png') });
  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  expect(await page.locator('img[src="x"]').count()).toBe(0);
});
