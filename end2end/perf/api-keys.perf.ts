import { expect, test, type Page } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { ApiKeysPage } from '../tests/pages/api-keys-page';
import { ADMIN, LoginPage } from '../tests/pages/login-page';

// Browser figures for `make bench`, written as a Markdown section to XK_PERF_OUT. Each figure
// is a median over RUNS, with the reference it is held against measured in the same run.
const RUNS = Number(process.env.XK_PERF_RUNS ?? 9);

declare global {
  interface Window {
    __clickToFrame: (expect: 'dialog' | 'all-selected' | 'nothing') => Promise<number>;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

/**
 * Largest contentful paint of the page at `path`, read once the page has hydrated (or, for a
 * page served without the client, once it has loaded).
 */
async function lcp(page: Page, path: string, runsClient = true): Promise<number> {
  await page.goto(path);
  if (runsClient) await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  return page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        new PerformanceObserver((list) => {
          const entries = list.getEntries();
          resolve(entries[entries.length - 1].startTime);
        }).observe({ type: 'largest-contentful-paint', buffered: true });
      }),
  );
}

/** Time from the click's event timestamp to the first animation frame that shows its effect. */
async function installClickTimer(page: Page) {
  await page.evaluate(() => {
    window.__clickToFrame = (want) =>
      new Promise((resolve) => {
        let clickedAt: number | null = null;
        addEventListener('click', (e) => (clickedAt = e.timeStamp), { capture: true, once: true });
        const shown = () => {
          if (want === 'dialog') return document.querySelector('dialog[open]') !== null;
          if (want === 'all-selected') {
            const boxes = [...document.querySelectorAll<HTMLInputElement>('tbody input[type=checkbox]')];
            return boxes.length > 0 && boxes.every((b) => b.checked);
          }
          return true;
        };
        const poll = () => {
          if (clickedAt !== null && shown()) {
            requestAnimationFrame(() => resolve(performance.now() - (clickedAt as number)));
          } else {
            requestAnimationFrame(poll);
          }
        };
        requestAnimationFrame(poll);
      });
  });
}

/** Event Timing durations (input to next paint) of clicks, where the browser reported them. */
async function startEventTiming(page: Page) {
  await page.evaluate(() => {
    (window as unknown as { __events: number[] }).__events = [];
    (window as unknown as { __clicks: number }).__clicks = 0;
    addEventListener('click', () => (window as unknown as { __clicks: number }).__clicks++, { capture: true });
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.name === 'click') (window as unknown as { __events: number[] }).__events.push(e.duration);
      }
    }).observe({ type: 'event', durationThreshold: 16, buffered: false } as PerformanceObserverInit);
  });
}

async function timedClick(page: Page, want: 'dialog' | 'all-selected' | 'nothing', click: () => Promise<void>) {
  const timer = page.evaluate((w) => window.__clickToFrame(w), want);
  await click();
  return timer;
}

test('API Keys page: paint and interaction timings', async ({ page }) => {
  const results: string[] = [];
  const keys = new ApiKeysPage(page);

  const loginLcp: number[] = [];
  for (let i = 0; i < RUNS; i++) loginLcp.push(await lcp(page, '/login', false));
  const login = new LoginPage(page);
  await login.open('/api-keys');
  await login.signIn(ADMIN);
  await expect(keys.shell.heading).toHaveText('API Keys');

  const pageLcp: number[] = [];
  for (let i = 0; i < RUNS; i++) pageLcp.push(await lcp(page, '/api-keys?size=100'));
  await expect(keys.bodyRows()).toHaveCount(100);

  await installClickTimer(page);
  await startEventTiming(page);
  const baseline: number[] = [];
  const all: number[] = [];
  const bulkDelete: number[] = [];
  const rowDelete: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await timedClick(page, 'nothing', () => keys.shell.heading.click()));

    await keys.selectButton.click();
    const allItem = page.getByRole('menu', { name: 'Select' }).getByRole('menuitem', { name: 'All', exact: true });
    all.push(await timedClick(page, 'all-selected', () => allItem.click()));

    await keys.selectedButton.click();
    const deleteItem = page.getByRole('menu', { name: 'Bulk actions' }).getByRole('menuitem', { name: 'Delete' });
    bulkDelete.push(await timedClick(page, 'dialog', () => deleteItem.click()));
    await keys.dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(keys.dialog).toBeHidden();
    await keys.choose('None');

    const rowButton = keys.bodyRows().nth(50).getByRole('button', { name: 'Delete' });
    rowDelete.push(await timedClick(page, 'dialog', () => rowButton.click()));
    await keys.dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(keys.dialog).toBeHidden();
  }
  const events = await page.evaluate(() => (window as unknown as { __events: number[] }).__events);
  const clicks = await page.evaluate(() => (window as unknown as { __clicks: number }).__clicks);

  results.push('## In Chromium (Playwright)', '');
  results.push(
    `Debian's Chromium, headless, 1280x720, release build, loopback; median of ${RUNS} runs each. ` +
      'Click times run from the click event\'s timestamp to the first animation frame that shows ' +
      'its effect; the reference is a click that changes nothing, so the difference is the work ' +
      'the click costs.',
    '',
  );
  results.push('| Figure | median | reference | reference median | difference |', '|---|---:|---|---:|---:|');
  const lcpRow = (name: string, xs: number[], refName: string, ref: number[]) =>
    `| ${name} | ${fmt(median(xs))} | ${refName} | ${fmt(median(ref))} | ${fmt(median(xs) - median(ref))} |`;
  results.push(lcpRow('Largest contentful paint, API Keys page (100 rows)', pageLcp, 'sign-in page', loginLcp));
  results.push(lcpRow('Click **All** → every row selected', all, 'click on the heading', baseline));
  results.push(lcpRow('Click bulk **Delete** → dialog', bulkDelete, 'click on the heading', baseline));
  results.push(lcpRow('Click a row\'s **Delete** → dialog', rowDelete, 'click on the heading', baseline));
  results.push('');
  results.push(
    events.length > 0
      ? `Event Timing API (input to next paint; it reports clicks of 16 ms and more): ${events.length} of ` +
          `the ${clicks} clicks of the run (menus and Cancel included), median ${fmt(median(events))}, ` +
          `longest ${fmt(Math.max(...events))}.`
      : `Event Timing API: none of the ${clicks} clicks of the run reached its 16 ms reporting threshold.`,
  );
  results.push('');

  const text = results.join('\n');
  if (process.env.XK_PERF_OUT) writeFileSync(process.env.XK_PERF_OUT, text);
  else console.log(text);
});
