import { expect, type Locator, type Page } from '@playwright/test';
import { AppShell } from './app-shell';

export const ADMIN = { userKey: 'admin', password: process.env.XK_E2E_ADMIN_PASSWORD ?? 'e2e admin password' };
export const OPERATOR = { userKey: 'operator', password: process.env.XK_E2E_OPERATOR_PASSWORD ?? 'e2e operator password' };

export class LoginPage {
  readonly shell: AppShell;
  readonly userKey: Locator;
  readonly password: Locator;
  readonly submit: Locator;
  readonly error: Locator;

  constructor(readonly page: Page) {
    this.shell = new AppShell(page);
    this.userKey = page.getByLabel('User key');
    this.password = page.getByLabel('Password');
    this.submit = page.getByRole('button', { name: 'Sign in', exact: true });
    this.error = page.getByRole('alert');
  }

  /** Opens the sign-in page: plain HTML served without the WASM client, so nothing hydrates. */
  async open(next?: string) {
    await this.page.goto(next ? `/login?next=${encodeURIComponent(next)}` : '/login');
    await this.waitUntilShown();
  }

  async waitUntilShown() {
    await expect(this.page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
  }

  async signIn(user: { userKey: string; password: string }) {
    await this.userKey.fill(user.userKey);
    await this.password.fill(user.password);
    await this.submit.click();
  }

  /** Signs in from the sign-in page and waits for the page it leads to. */
  async signInAs(user: { userKey: string; password: string }, next = '/') {
    await this.open(next);
    await this.signIn(user);
    await this.page.waitForURL((url) => url.pathname === next.split('?')[0]);
    await this.shell.waitForHydration();
    await expect(this.page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  }
}
