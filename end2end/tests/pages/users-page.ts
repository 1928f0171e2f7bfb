import { expect, type Locator, type Page } from '@playwright/test';
import { AppShell } from './app-shell';

export class UsersPage {
  readonly shell: AppShell;
  readonly addButton: Locator;
  readonly search: Locator;
  readonly status: Locator;
  readonly table: Locator;

  constructor(readonly page: Page) {
    this.shell = new AppShell(page);
    this.addButton = page.getByRole('button', { name: 'Add user' }).first();
    this.search = page.getByRole('searchbox', { name: 'Search users' });
    this.status = page.getByRole('status');
    this.table = page.getByRole('table', { name: 'Users' });
  }

  async open(query = '') {
    await this.shell.goto(`/users${query}`);
    await expect(this.shell.heading).toHaveText('Users');
  }

  row(userKey: string): Locator {
    return this.table.getByRole('row', { name: `User ${userKey}` });
  }

  async add(user: { userKey: string; name: string; email?: string; backupOperator?: boolean }) {
    await this.addButton.click();
    const form = this.page.getByRole('region', { name: 'Add user' });
    await form.getByLabel('User key').fill(user.userKey);
    await form.getByLabel('Display name').fill(user.name);
    if (user.email) await form.getByLabel('E-mail').fill(user.email);
    if (user.backupOperator) await form.getByLabel('Backup operator').check();
    await form.getByRole('button', { name: 'Add user' }).click();
  }

  async searchFor(text: string) {
    await this.search.fill(text);
    await this.search.press('Enter');
  }
}
