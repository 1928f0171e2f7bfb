import { expect, type Locator, type Page } from '@playwright/test';
import { AppShell } from './app-shell';

/** The Xray Backups page: health, the run panel, the schedule, history and details. */
export class BackupsPage {
  readonly shell: AppShell;
  readonly health: Locator;
  readonly runPanel: Locator;
  readonly runNow: Locator;
  readonly cancelRun: Locator;
  readonly schedule: Locator;
  readonly editSchedule: Locator;
  readonly scheduleForm: Locator;
  readonly history: Locator;
  readonly details: Locator;
  readonly flash: Locator;

  constructor(readonly page: Page) {
    this.shell = new AppShell(page);
    this.health = page.getByRole('region', { name: 'Health' });
    this.runPanel = page.getByRole('region', { name: 'Run', exact: true });
    this.runNow = page.getByRole('button', { name: 'Run backup now' });
    this.cancelRun = page.getByRole('button', { name: 'Cancel run' });
    this.schedule = page.getByRole('region', { name: 'Schedule' });
    this.editSchedule = page.getByRole('button', { name: 'Edit schedule' });
    this.scheduleForm = page.getByRole('form', { name: 'Edit schedule' });
    this.history = page.getByRole('table', { name: 'Backup history' });
    this.details = page.locator('.backup-details');
    this.flash = page.locator('.flash-region');
  }

  async open() {
    await this.shell.goto('/xray-backups');
    await expect(this.shell.heading).toHaveText('Xray Backups');
  }

  /** The history row of run `id`. */
  row(id: string): Locator {
    return this.history.getByRole('row').filter({ has: this.page.getByRole('link', { name: `Details of run ${id}` }) });
  }

  /** Runs a backup from the page and waits for its end; answers its id. */
  async runAndWait(ending: string | RegExp): Promise<string> {
    await this.runNow.click();
    const started = this.flash.getByRole('status');
    await expect(started).toContainText(/Backup run \d+ started/);
    const id = ((await started.textContent()) ?? '').match(/Backup run (\d+)/)?.[1] ?? '';
    await expect(this.row(id).locator('.lozenge')).toHaveText(ending, { timeout: 30_000 });
    return id;
  }
}
