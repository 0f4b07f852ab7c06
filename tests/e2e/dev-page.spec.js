// The development page as `trunk serve` builds it (index.html, Trunk.toml): the std build of
// the widget, loaded by trunk's own script and by the loader, sends to the collector.
// `cargo xtask test` runs `trunk build` first; its files are served on the collector's
// origin, which stands in for trunk's /v1/ proxy.
const fs = require('node:fs');
const path = require('node:path');
const { test, expect } = require('./fixtures');

const trunkDir = process.env.RAPPORT_TRUNK_DIR || path.resolve(__dirname, '../../target/trunk');
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

test('the trunk development page records a page view and the playground button', async ({ page, collector, consoleLog }) => {
  expect(fs.existsSync(path.join(trunkDir, 'index.html'))).toBe(true);
  await page.route(`${collector.url}/dev/`, (route) => route.fulfill({
    contentType: types['.html'], body: fs.readFileSync(path.join(trunkDir, 'index.html')),
  }));
  await page.route(/\/(rapport\.js|driver\.js|rapport_widget\.js|rapport_widget_bg\.wasm|shop\.css|snippets\/.*)$/, (route) => {
    const file = path.join(trunkDir, new URL(route.request().url()).pathname);
    route.fulfill({ contentType: types[path.extname(file)], body: fs.readFileSync(file) });
  });
  await page.goto(`${collector.url}/dev/`);
  // trunk's debug build is large and the batch waits 5 s: on a loaded machine that takes a while.
  await collector.waitFor((events) => events.some((e) => e.name === 'page_view'), { timeout: 20_000 });
  await page.click('button.add');
  const all = await collector.waitFor((events) => events.some((e) => e.name === 'dev_click'));
  // The page is shorter than the viewport, so it also reports full scroll depth.
  const events = all.filter((e) => !['scroll_milestone', 'page_engagement'].includes(e.name));
  expect(events.map((e) => e.name)).toEqual(['page_view', 'dev_click']);
  expect(typeof events[1].props.at).toBe('number');
  expect(consoleLog.pageErrors).toEqual([]);
  expect(consoleLog.rapport()).toEqual([]);
});
