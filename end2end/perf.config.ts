import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The browser half of `make bench`: measurements, not tests. Same Chromium and server script as
// the suite, on its own port, with 150 seeded keys so a page of 100 rows can be shown.
const port = Number(process.env.XK_PERF_PORT ?? 3200);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  ...base,
  testDir: './perf',
  testMatch: '*.perf.ts',
  timeout: 180_000,
  reporter: [['list']],
  use: { ...base.use, baseURL, trace: 'off' },
  webServer: {
    command: `XK_E2E_SEED_KEYS=150 XRAY_KEYS_LOG=warn bash ../scripts/e2e-server.sh ${port}`,
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
