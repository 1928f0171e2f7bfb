import { expect, type Locator, type Page } from '@playwright/test';
import { AppShell } from './app-shell';

/** The Xray Credentials page: view mode, edit mode, connection status. */
export class CredentialsPage {
  readonly shell: AppShell;
  readonly editButton: Locator;
  readonly addButton: Locator;
  readonly form: Locator;
  readonly clientId: Locator;
  readonly clientSecret: Locator;
  readonly baseUrl: Locator;
  readonly customUrl: Locator;
  readonly save: Locator;
  readonly cancel: Locator;
  readonly testButton: Locator;
  readonly status: Locator;
  readonly flash: Locator;
  readonly empty: Locator;

  constructor(readonly page: Page) {
    this.shell = new AppShell(page);
    this.editButton = page.getByRole('button', { name: 'Edit', exact: true });
    this.addButton = page.getByRole('button', { name: 'Add credentials' });
    this.form = page.getByRole('form', { name: /Xray credentials/ });
    this.clientId = page.getByLabel('Client ID');
    this.clientSecret = page.getByLabel('Client secret');
    this.baseUrl = page.getByLabel('Xray API');
    this.customUrl = page.getByLabel('Custom API URL');
    this.save = page.getByRole('button', { name: 'Save', exact: true });
    this.cancel = page.getByRole('button', { name: 'Cancel', exact: true });
    this.testButton = page.getByRole('button', { name: 'Test connection' });
    this.status = page.getByTestId('connection-status');
    this.flash = page.locator('.flash-region');
    this.empty = page.getByRole('heading', { name: 'No Xray credentials are stored yet' });
  }

  async open() {
    await this.shell.goto('/xray-credentials');
    await expect(this.shell.heading).toHaveText('Xray Credentials');
  }

  /** Opens the form, whether credentials are stored or not. */
  async startEditing() {
    await expect(this.editButton.or(this.addButton)).toBeVisible();
    if (await this.editButton.isVisible()) {
      await this.editButton.click();
    } else {
      await this.addButton.click();
    }
    await expect(this.form).toBeVisible();
    await expect(this.clientId).toBeFocused();
  }

  fieldError(field: Locator): Locator {
    return field.locator('xpath=..').locator('.field__error');
  }
}
