import { expect, type Locator, type Page } from '@playwright/test';
import { AppShell } from './app-shell';

/** The Xray stand-in page: projects, test executions, faults, backup jobs. */
export class StandinPage {
  readonly shell: AppShell;
  readonly note: Locator;
  readonly executions: Locator;
  readonly faults: Locator;

  constructor(readonly page: Page) {
    this.shell = new AppShell(page);
    this.note = page.getByRole('note');
    this.executions = page.getByRole('table', { name: 'Test executions' });
    this.faults = page.getByRole('region', { name: 'Faults in force' });
  }

  async open() {
    await this.shell.goto('/xray-standin');
    await expect(this.shell.heading).toHaveText('Xray stand-in');
  }

  execution(key: string): Locator {
    return this.executions.getByRole('row').filter({ has: this.page.getByRole('cell', { name: key, exact: true }) });
  }
}
