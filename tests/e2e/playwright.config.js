// Playwright drives Debian's Chromium; browsers are never downloaded.
const { defineConfig } = require('@playwright/test');
const { USER_AGENT, ownBrowser } = require('./browser');

module.exports = defineConfig({
  testDir: '.',
  testMatch: '*.spec.js',
  outputDir: '../../target/playwright',
  fullyParallel: true,
  workers: 2,
  retries: 0,
  timeout: 30_000,
  reporter: [['list'], ['json', { outputFile: process.env.PLAYWRIGHT_JSON_OUTPUT_FILE || '../../target/playwright-results.json' }]],
  use: {
    browserName: 'chromium',
    userAgent: USER_AGENT,
    launchOptions: ownBrowser(['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']),
  },
});
