// rapport.destroy(): nothing of Rapport's stays attached to the page (listeners on window and
// document, the history patches, the observers, the timer), and what was queued stays in
// storage for the next page.
const { test, expect, servePage } = require('./fixtures');

const named = (events, name) => events.filter((e) => e.name === name);

// Before any script: the page's own history methods, and every timer callback's firing time.
const WATCH = () => {
  window.__history = [history.pushState, history.replaceState];
  window.__fired = [];
  for (const name of ['setTimeout', 'setInterval']) {
    const original = window[name];
    window[name] = function (f, ...rest) {
      const wrapped = typeof f == 'function' ? function (...a) { window.__fired.push(performance.now()); return f.apply(this, a); } : f;
      return original.call(this, wrapped, ...rest);
    };
  }
};

async function listeners(page) {
  const cdp = await page.context().newCDPSession(page);
  const count = async (expression) => {
    const { result } = await cdp.send('Runtime.evaluate', { expression });
    const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId });
    return listeners.map((l) => l.type).sort();
  };
  const found = { window: await count('window'), document: await count('document') };
  await cdp.detach();
  return found;
}

test('destroy() releases every listener, the history patches, the observers and the timer; queued events wait for the next page', async ({ page, collector }) => {
  await page.addInitScript(WATCH);
  // The same page without Rapport: what the page itself has attached.
  await servePage(page, `${collector.url}/shop/bare.html`, page_(false));
  await page.goto(`${collector.url}/shop/bare.html`);
  const bare = await listeners(page);

  await servePage(page, `${collector.url}/shop/p.html`, page_(true));
  await servePage(page, `${collector.url}/shop/next.html`, page_(true));
  await page.goto(`${collector.url}/shop/p.html`);
  await page.evaluate(() => rapport.track('before', { n: 1 }));
  await collector.waitFor((events) => named(events, 'before').length === 1);
  const attached = await listeners(page);
  expect(attached.window.length).toBeGreaterThan(bare.window.length);
  expect(await page.evaluate(() => history.pushState === window.__history[0])).toBe(false);

  // Two events queued (the batch waits 300 ms), then destroy at once.
  const at = await page.evaluate(() => {
    rapport.track('queued', { n: 1 });
    rapport.track('queued', { n: 2 });
    rapport.destroy();
    return performance.now();
  });
  expect(await listeners(page)).toEqual(bare);
  expect(await page.evaluate(() => [history.pushState === window.__history[0], history.replaceState === window.__history[1]])).toEqual([true, true]);
  // Scrolling, clicking, navigating in the page and calls do nothing now.
  await page.mouse.wheel(0, 1500);
  await page.evaluate(() => { history.pushState({}, '', '/shop/elsewhere.html'); rapport.track('after'); rapport.page(); });
  await page.waitForTimeout(1500);
  expect(await page.evaluate((t) => window.__fired.filter((f) => f > t).length, at)).toBe(0);
  // A page experiment asked now gets its first variant, as with tracking off.
  expect(await page.evaluate(() => rapport.experiment('after-destroy', ['first', 'second']))).toBe('first');
  let events = await collector.events();
  expect(named(events, 'queued')).toHaveLength(0);
  expect(named(events, 'after')).toHaveLength(0);
  expect(named(events, 'page_view').map((e) => new URL(e.url).pathname)).toEqual(['/shop/p.html']);

  // The next page sends what was queued, once.
  await page.goto(`${collector.url}/shop/next.html`);
  events = await collector.waitFor((all) => named(all, 'queued').length === 2);
  expect(named(events, 'queued').map((e) => e.props.n).sort()).toEqual([1, 2]);
  expect(named(events, 'after')).toHaveLength(0);
});

test('destroy() before the tracker has loaded is replayed in order, and a prompt\'s stage is closed with it', async ({ page, collector }) => {
  await page.addInitScript(WATCH);
  const config = JSON.stringify({ prompts: [{ id: 'tab', type: 'thumbs', display: 'tab', question: { en: 'Useful?' }, trigger: { url_include: ['/shop/*'] } }] });
  await servePage(page, `${collector.url}/shop/bare.html`, page_(false));
  await page.goto(`${collector.url}/shop/bare.html`);
  const bare = await listeners(page);
  await servePage(page, `${collector.url}/shop/tab.html`, page_(true, `data-config='${config}'`));
  await page.goto(`${collector.url}/shop/tab.html`);
  await expect(page.locator('rapport-ui .tab')).toBeVisible();
  await page.evaluate(() => rapport.destroy());
  await expect(page.locator('rapport-ui')).toHaveCount(0);
  const at = await page.evaluate(() => performance.now());
  expect(await listeners(page)).toEqual(bare);
  await page.waitForTimeout(1500);
  expect(await page.evaluate((t) => window.__fired.filter((f) => f > t).length, at)).toBe(0);

  // Called while loading: queued with the other calls and carried out in order.
  await servePage(page, `${collector.url}/shop/early.html`, page_(true, '', '<script>rapport.track("first"); rapport.destroy(); rapport.track("never");</script>'));
  await page.goto(`${collector.url}/shop/early.html`);
  await page.waitForTimeout(1000);
  expect(await listeners(page)).toEqual(bare);
  await page.goto(`${collector.url}/shop/bare.html`);
  const events = await collector.events();
  expect(named(events, 'never')).toHaveLength(0);
});

function page_(tag, attrs = '', body = '') {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>
  ${tag ? `<script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="300" ${attrs}></script>` : ''}</head>
  <body style="height:3000px"><main><a id="next" href="/shop/next.html">next</a>${body}</main></body></html>`;
}
