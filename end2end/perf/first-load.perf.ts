import { expect, test, type Browser } from '@playwright/test';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { ADMIN, LoginPage } from '../tests/pages/login-page';

// What a first visit to each page downloads: every WASM file a cold browser context fetches
// until the page has hydrated, sized as brotli (quality 11, as the release bundle is measured).
// The reference is the whole release bundle's WASM, read from disk in the same run. Written as a
// Markdown section to XK_PERF_FIRST_LOAD_OUT (or printed).

// The sign-in page is served without the client (`PAGES_WITHOUT_CLIENT`): it fetches no WASM.
const PAGES: { path: string; name: string; signedIn: boolean; runsClient?: false; goal?: number }[] = [
  { path: '/login', name: 'Sign in', signedIn: false, runsClient: false, goal: 150 * 1024 },
  { path: '/', name: 'Home', signedIn: true },
  { path: '/api-keys', name: 'API Keys', signedIn: true, goal: 250 * 1024 },
  { path: '/api-key-policy', name: 'API Key Policy', signedIn: true },
  { path: '/xray-credentials', name: 'Xray Credentials', signedIn: true },
  { path: '/xray-backups', name: 'Xray backups', signedIn: true },
  { path: '/users', name: 'Users', signedIn: true },
  { path: '/audit', name: 'Audit log', signedIn: true },
  { path: '/xray-standin', name: 'Xray Cloud stand-in', signedIn: true },
];

const brotli = (bytes: Buffer) =>
  brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

/** Brotli bytes of the WASM files a cold context fetches to open and hydrate `path`. */
async function firstLoad(browser: Browser, path: string, runsClient: boolean, storageState?: string) {
  const context = await browser.newContext({ storageState });
  const page = await context.newPage();
  const fetched: Promise<number>[] = [];
  const files: string[] = [];
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (!url.pathname.endsWith('.wasm')) return;
    files.push(url.pathname.split('/').pop() ?? url.pathname);
    fetched.push(response.body().then(brotli));
  });
  await page.goto(path);
  if (runsClient) await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page).toHaveURL((url) => url.pathname === path);
  const sizes = await Promise.all(fetched);
  await context.close();
  return { bytes: sizes.reduce((a, b) => a + b, 0), files };
}

/**
 * The WASM files of the newest build: the main module named in hash.txt beside the server binary,
 * and every chunk its split manifest names (older builds' files may lie beside them in `pkg/`).
 */
function newestBuildWasm(): string[] {
  const pkg = join(process.env.XRAY_KEYS_SITE_ROOT ?? '../target/site', 'pkg');
  const server = process.env.XK_SERVER_BIN ?? '../target/release/xray-keys';
  const hashes = Object.fromEntries(
    readFileSync(join(dirname(server), 'hash.txt'), 'utf8')
      .split('\n')
      .filter((line) => line.includes(':'))
      .map((line) => line.split(':').map((part) => part.trim())),
  );
  const manifest: Record<string, string[]> = JSON.parse(
    readFileSync(join(pkg, `__wasm_split_manifest.${hashes.manifest}.json`), 'utf8'),
  );
  const chunks = new Set(Object.values(manifest).flat());
  return [`xray-keys.${hashes.wasm}`, ...chunks].map((name) => join(pkg, `${name}.wasm`));
}

test('first load: the WASM each page fetches', async ({ browser, page }, testInfo) => {
  const bundle = newestBuildWasm().reduce((sum, f) => sum + brotli(readFileSync(f)), 0);

  const login = new LoginPage(page);
  await login.signInAs(ADMIN, '/');
  const state = testInfo.outputPath('admin-state.json');
  await page.context().storageState({ path: state });

  const lines = [
    '## First load (Playwright, Chromium)',
    '',
    'The WASM bytes (brotli, quality 11) a cold browser context fetches to open each page and ' +
      'hydrate it, beside the whole release bundle measured from `pkg/` in the same run. The ' +
      'bundle is split (`cargo leptos build --split`): every page fetches the main module, a ' +
      'signed-in page also its own chunk and the shared chunks it needs; the sign-in page is ' +
      'served without the client (a plain HTML form) and fetches none. Goals (issue 19): ' +
      'sign-in ≤ 150 KB, API Keys ≤ 250 KB.',
    '',
    '| Page | WASM fetched (brotli) | WASM files | whole bundle (reference) | fetched / bundle | goal |',
    '|---|---:|---|---:|---:|---|',
  ];
  for (const p of PAGES) {
    const runsClient = p.runsClient ?? true;
    const { bytes, files } = await firstLoad(browser, p.path, runsClient, p.signedIn ? state : undefined);
    if (runsClient) expect(files.length, `${p.path} fetched its WASM`).toBeGreaterThan(0);
    else expect(files, `${p.path} is served without the client`).toEqual([]);
    const goal = p.goal === undefined ? '–' : `${bytes <= p.goal ? 'meets' : 'MISSES'} ≤ ${kb(p.goal)}`;
    lines.push(
      `| ${p.name} (\`${p.path}\`) | ${kb(bytes)} | ${files.length} | ${kb(bundle)} | ` +
        `${(bytes / bundle).toFixed(2)} | ${goal} |`,
    );
  }
  lines.push('');
  const text = lines.join('\n');
  if (process.env.XK_PERF_FIRST_LOAD_OUT) writeFileSync(process.env.XK_PERF_FIRST_LOAD_OUT, text);
  else console.log(text);
});
