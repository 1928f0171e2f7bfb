import { expect, type Locator, type Page } from '@playwright/test';
import { AppShell } from './app-shell';

/** The API Key Policy page. */
export class KeyPolicyPage {
  readonly shell: AppShell;
  readonly defaultExpiry: Locator;
  readonly maxLifetime: Locator;
  readonly warn: Locator;
  readonly unused: Locator;
  readonly save: Locator;
  readonly applyMaximum: Locator;
  readonly status: Locator;
  readonly dialog: Locator;

  constructor(readonly page: Page) {
    this.shell = new AppShell(page);
    this.defaultExpiry = page.getByLabel('Default expiry for new keys');
    this.maxLifetime = page.getByLabel('Maximum lifetime (days)');
    this.warn = page.getByLabel('Warn before expiry (days)');
    this.unused = page.getByLabel('Flag keys unused for (days)');
    this.save = page.getByRole('button', { name: 'Save', exact: true });
    this.applyMaximum = page.getByRole('button', { name: 'Apply the maximum to existing keys…' });
    this.status = page.locator('.flash-region').getByRole('status');
    this.dialog = page.getByRole('dialog');
  }

  async open() {
    await this.shell.goto('/api-key-policy');
    await expect(this.shell.heading).toHaveText('API Key Policy');
  }
}
