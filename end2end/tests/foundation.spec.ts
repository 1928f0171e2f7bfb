import { expect, test } from '@playwright/test';
import { createHash } from 'node:crypto';
import { AppShell } from './pages/app-shell';
import { ADMIN, LoginPage } from './pages/login-page';

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

test('a page fetches its own WASM chunk only when shown, and every WASM file is named by its content', async ({
  page,
}) => {
  // name -> whether the name carries the hash of the bytes served under it (cargo-leptos: MD5,
  // base64url). The main module's hash is of its code before cargo-leptos writes the split
  // loader's own hashed name into it, so for it only the hashed name is checked.
  const wasm = new Map<string, boolean>();
  const pending: Promise<void>[] = [];
  page.on('response', (response) => {
    const name = new URL(response.url()).pathname.split('/').pop() ?? '';
    const named = /\.([A-Za-z0-9_-]{22})\.wasm$/.exec(name);
    if (!name.endsWith('.wasm')) return;
    pending.push(
      response.body().then((body) => {
        const main = name.startsWith('xray-keys.');
        const hash = createHash('md5').update(body).digest('base64url');
        wasm.set(name, named !== null && (main || hash === named[1]));
      }),
    );
  });
  const shell = new AppShell(page);
  await new LoginPage(page).signInAs(ADMIN, '/');
  await shell.waitForHydration();
  await Promise.all(pending);
  const chunkOf = (page: string) => [...wasm.keys()].some((name) => name.includes(`_${page}_route_view_`));
  expect(chunkOf('users'), 'the Users chunk before the Users page is shown').toBe(false);

  await shell.navLink('Users').click();
  await expect(shell.heading).toHaveText('Users');
  await expect(page.getByRole('table')).toBeVisible();
  await Promise.all(pending);
  expect(chunkOf('users'), 'the Users chunk once the page is shown').toBe(true);
  // A chunk named by the hash of its bytes cannot be served with another build's bytes: an open
  // page never mixes its module with a chunk built after it.
  expect([...wasm.entries()].filter(([, matches]) => !matches)).toEqual([]);
  expect(shell.consoleErrors).toEqual([]);
});
