import { expect, type Locator, type Page } from '@playwright/test';

/** The frame every page shares: header, navigation, hydration state, console errors. */
export class AppShell {
  readonly consoleErrors: string[] = [];
  readonly menuButton: Locator;
  readonly nav: Locator;
  readonly heading: Locator;

  constructor(readonly page: Page) {
    this.menuButton = page.getByRole('button', { name: /menu/i });
    this.nav = page.getByRole('navigation', { name: 'Main' });
    this.heading = page.getByRole('heading', { level: 1 });
    page.on('console', (msg) => {
      if (msg.type() === 'error') this.consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => this.consoleErrors.push(err.message));
  }

  /** Opens `path` and waits until the WASM client has hydrated it. */
  async goto(path: string) {
    const response = await this.page.goto(path);
    await this.waitForHydration();
    return response;
  }

  async waitForHydration() {
    await expect(this.page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  }

  navLink(name: string): Locator {
    return this.nav.getByRole('link', { name, exact: true });
  }
}
