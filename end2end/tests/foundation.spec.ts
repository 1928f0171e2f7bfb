import { expect, test } from '@playwright/test';
import { AppShell } from './pages/app-shell';

test('the home page is rendered on the server before any script runs', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'API Keys' }).first()).toBeVisible();
  await context.close();
});

test('the home page hydrates without console errors', async ({ page }, testInfo) => {
  const shell = new AppShell(page);
  await shell.goto('/');
  await expect(shell.heading).toHaveText('Overview');
  await page.screenshot({ path: testInfo.outputPath('home.png'), fullPage: true });
  expect(shell.consoleErrors).toEqual([]);
});

test('at phone width the menu button, run by the WASM client, opens the navigation', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const shell = new AppShell(page);
  await shell.goto('/');
  await expect(shell.nav).toBeHidden();
  await expect(shell.menuButton).toHaveAttribute('aria-expanded', 'false');

  await shell.menuButton.click();
  await expect(shell.menuButton).toHaveAttribute('aria-expanded', 'true');
  await expect(shell.navLink('API Keys')).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('home-phone-menu.png'), fullPage: true });

  // Following a link closes the menu again.
  await shell.navLink('Overview').click();
  await expect(shell.menuButton).toHaveAttribute('aria-expanded', 'false');
  await expect(shell.nav).toBeHidden();
  expect(shell.consoleErrors).toEqual([]);
});

test('an unknown address shows the 404 page with a way back', async ({ page }, testInfo) => {
  const shell = new AppShell(page);
  const response = await shell.goto('/no-such-page');
  expect(response?.status()).toBe(404);
  await expect(shell.heading).toHaveText('Page not found');
  await page.screenshot({ path: testInfo.outputPath('not-found.png') });
  await page.getByRole('link', { name: 'Go to the overview' }).click();
  await expect(shell.heading).toHaveText('Overview');
});

test('the navigation can be used by keyboard alone', async ({ page }) => {
  const shell = new AppShell(page);
  await shell.goto('/');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to main content' })).toBeFocused();
  await shell.navLink('Overview').focus();
  await page.keyboard.press('Enter');
  await expect(shell.navLink('Overview')).toHaveAttribute('aria-current', 'page');
  await page.keyboard.press('Tab');
  await expect(shell.navLink('API Keys')).toBeFocused();
});
