import { defineConfig } from '@playwright/test';

// playwright-xray exactly as a CI pipeline uses it (from npm, unchanged), pointed at this server's
// Xray Cloud stand-in by its own option, cloud.xrayUrl. The stand-in spec runs it as a child
// process with the key it created on the API Keys page.
const xrayUrl = `${process.env.XK_XRAY_URL ?? 'http://127.0.0.1:3100'}/`;

export default defineConfig({
  testDir: './playwright-xray',
  outputDir: './test-results',
  workers: 1,
  reporter: [
    ['line'],
    [
      'playwright-xray',
      {
        jira: { url: xrayUrl, type: 'cloud', apiVersion: '1.0' },
        cloud: {
          client_id: process.env.XK_CLIENT_ID,
          client_secret: process.env.XK_CLIENT_SECRET,
          xrayUrl,
        },
        projectKey: 'XK',
        testPlan: process.env.XK_TEST_PLAN,
        summary: process.env.XK_SUMMARY,
        testEnvironments: ['playwright-xray'],
      },
    ],
  ],
});
