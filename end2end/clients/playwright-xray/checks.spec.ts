import { expect, test } from '@playwright/test';

// Titles start with the Xray test key and " | ", which is how playwright-xray finds the test.

test('XK-1 | a passing check is reported as PASSED', async () => {
  // The reporter authenticates in the background while tests run (as with any real suite);
  // a suite that ends in a millisecond would report before it has its token.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(1 + 1).toBe(2);
});

test('XK-2 | a second check is reported too', async () => {
  expect('stand-in').toContain('stand');
});

test.skip('XK-3 | a skipped check is reported as SKIPPED', async () => {});
