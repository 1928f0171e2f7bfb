import { type Locator, type Page } from '@playwright/test';
import { AppShell } from './app-shell';

/** The first-administrator page a one-time setup link opens. */
export class SetupPage {
  readonly shell: AppShell;
  readonly userKey: Locator;
  readonly displayName: Locator;
  readonly password: Locator;
  readonly passwordAgain: Locator;
  readonly submit: Locator;
  readonly invalidNotice: Locator;

  constructor(readonly page: Page) {
    this.shell = new AppShell(page);
    this.userKey = page.getByLabel('User key');
    this.displayName = page.getByLabel('Display name');
    this.password = page.getByLabel('Password', { exact: true });
    this.passwordAgain = page.getByLabel('Password again');
    this.submit = page.getByRole('button', { name: 'Create administrator' });
    this.invalidNotice = page.getByRole('alert').filter({ hasText: 'This setup link is not valid' });
  }

  async open(link: string) {
    await this.page.goto(link);
    await this.shell.waitForHydration();
  }

  async createAdministrator(userKey: string, password: string, again = password) {
    await this.userKey.fill(userKey);
    await this.displayName.fill('First Administrator');
    await this.password.fill(password);
    await this.passwordAgain.fill(again);
    await this.submit.click();
  }
}
