// The thin slice: a script tag on a page, one page_view, stored by the real collector.
const { test, expect, servePage, batchBody } = require('./fixtures');

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const isBatch = (r) => new URL(r.url()).pathname === '/v1/batch' && r.method() === 'POST';
// These pages are shorter than the viewport, so they also report full scroll depth at once;
// the tests here are about the other events.
const ENGAGEMENT = ['scroll_milestone', 'page_engagement'];
const tracked = (events) => events.filter((e) => !ENGAGEMENT.includes(e.name));

test('the demo page records one page_view and the collector stores exactly that event', async ({ page, collector, consoleLog }) => {
  const before = Date.now();
  const sent = page.waitForRequest(isBatch);
  await page.goto(`${collector.url}/demo/`);
  const request = await sent;
  expect(request.headers()['content-type']).toMatch(/^text\/plain/);
  // The demo shop turns compression on: gzip on the wire, said on the URL.
  expect(request.url()).toMatch(/[?&]encoding=gzip$/);
  expect([...request.postDataBuffer().subarray(0, 2)]).toEqual([0x1f, 0x8b]);
  const body = batchBody(request);
  expect(body.site).toBe('demo');
  expect(tracked(body.events)).toHaveLength(1);
  const response = await request.response();
  expect(response.status()).toBe(200);
  expect(await response.json()).toEqual({ accepted: body.events.length, rejected: [], duplicates: [] });

  const stored = tracked(await collector.events());
  expect(stored).toHaveLength(1);
  const [event] = stored;
  const sentEvent = tracked(body.events)[0];
  expect(event.id).toBe(sentEvent.id);
  expect(event.name).toBe('page_view');
  expect(event.url).toBe(page.url());
  for (const id of [event.id, event.visitor_id, event.session_id, event.pageview_id]) {
    expect(id).toMatch(UUID_V4);
  }
  expect(new Set([event.id, event.visitor_id, event.session_id, event.pageview_id]).size).toBe(4);
  expect(event.returning).toBe(false);
  expect(event.referrer).toBeNull();
  expect(event.client_ts).toBeGreaterThanOrEqual(before);
  expect(event.client_ts).toBeLessThanOrEqual(Date.now());

  // The visitor is remembered in localStorage under the rapport: prefix, never in cookies.
  const visit = JSON.parse(await page.evaluate(() => localStorage.getItem('rapport:visit')));
  expect(visit.v).toBe(event.visitor_id);
  expect(visit.s).toBe(event.session_id);
  expect(await page.context().cookies()).toEqual([]);
  expect(consoleLog.pageErrors).toEqual([]);
  expect(consoleLog.rapport()).toEqual([]);
});

test('calls made before the wasm is ready are replayed in order', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/queue.html`;
  await servePage(page, url, `<!doctype html><title>queue</title>
    <script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="100"></script>
    <script>
      window.t0 = Date.now();
      rapport.track('first', { n: 1, label: 'ภาษาไทย', ok: true, none: null });
      rapport.track('second');
      rapport.page();
      window.t1 = Date.now();
    </script>`);
  const sent = page.waitForRequest(isBatch);
  await page.goto(url);
  const body = JSON.parse((await sent).postData());
  const events = tracked(body.events);
  expect(events.map((e) => e.name)).toEqual(['page_view', 'first', 'second', 'page_view']);
  expect(events[1].props).toEqual({ label: 'ภาษาไทย', n: 1, none: null, ok: true });
  // Queued calls keep the time they were made, not the time they were replayed.
  const { t0, t1 } = await page.evaluate(() => ({ t0: window.t0, t1: window.t1 }));
  for (const e of events.slice(1)) {
    expect(e.ts).toBeGreaterThanOrEqual(t0);
    expect(e.ts).toBeLessThanOrEqual(t1);
  }

  const stored = tracked(await collector.waitFor((all) => tracked(all).length === 4));
  expect(stored.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
  expect(stored.find((e) => e.name === 'first').props).toEqual({ label: 'ภาษาไทย', n: 1, none: null, ok: true });
  expect(consoleLog.pageErrors).toEqual([]);
});

test('an invalid track call warns once, naming the problem, and throws nothing', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/invalid.html`;
  await servePage(page, url, `<!doctype html><title>invalid</title>
    <script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="100"></script>
    <script>
      rapport.track('Add To Cart');
      rapport.track('nested', { a: { b: 1 } });
      rapport.track('fine');
      window.afterCalls = true;
    </script>`);
  const sent = page.waitForRequest(isBatch);
  await page.goto(url);
  const body = JSON.parse((await sent).postData());
  expect(tracked(body.events).map((e) => e.name)).toEqual(['page_view', 'fine']);
  expect(await page.evaluate(() => window.afterCalls)).toBe(true);
  const warnings = consoleLog.rapport();
  expect(warnings).toHaveLength(2);
  expect(warnings[0].text).toContain('track("Add To Cart")');
  expect(warnings[0].text).toContain('name');
  expect(warnings[1].text).toContain('props');
  expect(consoleLog.pageErrors).toEqual([]);
});

test('bad config prints one console error naming the field and sends nothing', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/bad-config.html`;
  await servePage(page, url, `<!doctype html><title>bad config</title>
    <script src="/embed/rapport.js" data-endpoint="/v1/batch" data-batch-wait="100"></script>
    <script>rapport.track('early'); document.title = 'host still runs';</script>`);
  let batches = 0;
  page.on('request', (r) => { if (isBatch(r)) batches += 1; });
  await page.goto(url);
  await expect.poll(() => consoleLog.rapport().length).toBe(1);
  const [message] = consoleLog.rapport();
  expect(message.type).toBe('error');
  expect(message.text).toContain('"data-site"');
  expect(await page.title()).toBe('host still runs');
  // Calls after the failure are ignored without errors.
  await page.evaluate(() => window.rapport.track('late'));
  expect(consoleLog.pageErrors).toEqual([]);
  expect(batches).toBe(0);
  expect(await collector.events()).toEqual([]);
});

test('a CSP without wasm-unsafe-eval gets one clear message and the page keeps working', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/csp.html`;
  await servePage(page, url, `<!doctype html><title>csp</title>
    <meta http-equiv="Content-Security-Policy" content="script-src 'self'">
    <script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="100" async></script>
    <article class="card"><h2>Mug</h2><button type="button" class="add" data-sku="mug">Add</button></article>
    <p id="cart-status"></p>
    <script src="/demo/shop.js"></script>`);
  await page.goto(url);
  await expect.poll(() => consoleLog.rapport().length).toBe(1);
  expect(consoleLog.rapport()[0].text).toContain("'wasm-unsafe-eval'");
  await page.click('button.add');
  await expect(page.locator('#cart-status')).toHaveText('Mug added to your cart.');
  expect(consoleLog.pageErrors).toEqual([]);
  expect(consoleLog.rapport()).toHaveLength(1);
  expect(await collector.events()).toEqual([]);
});

test('a host page whose fetch throws still delivers by beacon, with no uncaught error', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/broken-fetch.html`;
  await servePage(page, url, `<!doctype html><title>broken fetch</title>
    <script>window.fetch = function () { throw new Error('host replaced fetch'); };</script>
    <script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="100" async></script>`);
  await page.goto(url);
  const stored = await collector.waitFor((events) => events.some((e) => e.name === 'page_view'));
  expect(tracked(stored).map((e) => e.name)).toEqual(['page_view']);
  expect(consoleLog.pageErrors).toEqual([]);
});
