import { expect, type Locator, type Page } from '@playwright/test';
import { AppShell } from './app-shell';

/** The API Keys page, as Xray's "Global Settings: API Keys". */
export class ApiKeysPage {
  readonly shell: AppShell;
  readonly createButton: Locator;
  readonly search: Locator;
  readonly pageSize: Locator;
  readonly table: Locator;
  readonly status: Locator;
  readonly dialog: Locator;
  readonly selectButton: Locator;
  readonly selectedButton: Locator;
  readonly empty: Locator;
  readonly show: Locator;
  readonly banner: Locator;

  constructor(readonly page: Page) {
    this.shell = new AppShell(page);
    this.createButton = page.getByRole('button', { name: 'Create API Key' });
    this.search = page.getByRole('searchbox', { name: 'Search' });
    this.pageSize = page.getByRole('combobox', { name: 'Page size' });
    this.table = page.getByRole('table', { name: 'API Keys' });
    this.status = page.locator('.flash-region').getByRole('status');
    this.dialog = page.getByRole('dialog');
    this.selectButton = page.getByRole('button', { name: 'Select', exact: true });
    this.selectedButton = page.getByRole('button', { name: /^\(\d+\) Selected$/ });
    this.empty = page.getByText('No API Keys were found');
    this.show = page.getByRole('combobox', { name: 'Show' });
    this.banner = page.getByRole('region', { name: 'Expiring keys' });
  }

  async open(query = '') {
    await this.shell.goto(`/api-keys${query}`);
    await expect(this.shell.heading).toHaveText('API Keys');
  }

  row(userKey: string): Locator {
    return this.table.getByRole('row', { name: `API Key of ${userKey}`, exact: true });
  }

  bodyRows(): Locator {
    return this.table.locator('tbody tr');
  }

  async searchFor(text: string) {
    await this.search.fill(text);
    await expect(this.page).toHaveURL(new RegExp(`q=${encodeURIComponent(text).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  }

  async pickUser(text: string, userKey: string) {
    const picker = this.dialog.getByRole('combobox', { name: 'User' });
    await picker.fill(text);
    await this.dialog.getByRole('option', { name: new RegExp(`\\(${userKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`) }).click();
  }

  /** The open dialog is a real modal one: the rest of the page is inert behind it. */
  async expectModal() {
    await expect(this.dialog).toBeVisible();
    await expect.poll(() => this.dialog.evaluate((d) => d.matches(':modal'))).toBe(true);
  }

  async createFor(text: string, userKey: string) {
    await this.createButton.click();
    await this.expectModal();
    await this.pickUser(text, userKey);
    await this.dialog.getByRole('button', { name: 'Generate' }).click();
  }

  async choose(mode: 'All' | 'Current Page' | 'None') {
    await this.selectButton.click();
    await this.page.getByRole('menu', { name: 'Select' }).getByRole('menuitem', { name: mode, exact: true }).click();
  }

  /** Opens the row's "More actions" menu and picks `action`. */
  async rowAction(userKey: string, action: 'Edit details' | 'Deactivate' | 'Reactivate' | 'Revoke old secret now') {
    await this.row(userKey).getByRole('button', { name: `More actions for ${userKey}` }).click();
    await this.page.getByRole('menu', { name: `Actions for ${userKey}` }).getByRole('menuitem', { name: action }).click();
  }

  /** The row's cell in the column headed `column`. */
  cell(userKey: string, column: 'Description' | 'Status' | 'Created' | 'Last used' | 'Expires'): Locator {
    const index = { Description: 4, Status: 5, Created: 6, 'Last used': 7, Expires: 8 }[column];
    return this.row(userKey).locator('td').nth(index);
  }

  async bulk(action: 'Delete' | 'Regenerate Client Secret' | 'Deactivate' | 'Reactivate' | 'Set expiry…') {
    await this.selectedButton.click();
    await this.page.getByRole('menu', { name: 'Bulk actions' }).getByRole('menuitem', { name: action }).click();
  }

  secretText(label: 'Client Id' | 'Client Secret'): Locator {
    return this.dialog.locator(`code[data-field="${label}"]`);
  }
}
