// Page experiments in Chromium against the real collector: rapport.experiment(), the
// declarative form without flicker, the timeout fallback, and exposure events.
const fs = require('node:fs');
const { test, expect, servePage, fastBatches } = require('./fixtures');

const named = (events, name) => events.filter((e) => e.name === name);

function page_(attrs = '', body = '') {
  return `<!doctype html><meta charset="utf-8"><title>exp</title>
    <script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="100" ${attrs}></script>
    ${body}`;
}

const layouts = `<div data-rapport-experiment="layout">
  <section id="a" data-rapport-variant="list" style="display:flex">A</section>
  <section id="b" data-rapport-variant="grid" style="display:flex">B</section>
</div>`;

/** The tracker's module arrives `ms` late, so the loader's own wait decides first. */
const slowModule = (page, ms) => page.route('**/embed/rapport_widget_bg.wasm', async (route) => {
  await new Promise((r) => setTimeout(r, ms));
  await route.continue();
});

/** Which of the two variants are shown: their computed display. */
const shown = (page) => page.evaluate(() => ['a', 'b'].filter((id) => getComputedStyle(document.getElementById(id)).display !== 'none'));

test('rapport.experiment() gives a stable variant, records one exposure per session, and tags later events', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/exp.html`;
  await servePage(page, url, page_());
  await page.goto(url);
  const first = await page.evaluate(() => rapport.experiment('hero', ['control', 'big']));
  expect(['control', 'big']).toContain(first);
  // Asked again, on this page and the next: the same variant, and no second exposure.
  expect(await page.evaluate(() => rapport.experiment('hero', ['control', 'big']))).toBe(first);
  await page.evaluate(() => rapport.track('clicked'));
  await page.reload();
  expect(await page.evaluate(() => rapport.experiment('hero', ['control', 'big']))).toBe(first);
  // Weights: a variant of weight 0 is never given.
  expect(await page.evaluate(() => rapport.experiment('color', ['red', 'blue'], { weights: [0, 1] }))).toBe('blue');
  const events = await collector.waitFor((all) => named(all, 'experiment_exposed').length === 2 && named(all, 'clicked').length === 1);
  await page.waitForTimeout(300);
  const exposures = named(await collector.events(), 'experiment_exposed');
  expect(exposures.map((e) => [e.props.experiment, e.props.variant]).sort()).toEqual([['color', 'blue'], ['hero', first]].sort());
  const hero = exposures.find((e) => e.props.experiment === 'hero');
  expect(hero.props.variant_index).toBe(first === 'control' ? 0 : 1);
  expect(named(events, 'clicked')[0].props['exp:hero']).toBe(first);
  expect(named(events, 'page_view')[1].props['exp:hero']).toBe(first);
  expect(consoleLog.pageErrors).toEqual([]);
});

test('bad experiment calls warn once each and fall back to the first variant', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/exp.html`;
  await servePage(page, url, page_());
  await page.goto(url);
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  const got = await page.evaluate(() => Promise.all([
    rapport.experiment('Bad Id', ['a', 'b']),
    rapport.experiment('empty', []),
    rapport.experiment('twice', ['a', 'a']),
    rapport.experiment('weights', ['a', 'b'], { weights: [1] }),
    rapport.experiment('zero', ['a', 'b'], { weights: [0, 0] }),
  ]));
  expect(got).toEqual(['a', null, 'a', 'a', 'a']);
  expect(consoleLog.rapport().map((m) => m.text.trim())).toEqual([
    "rapport: experiment(\"Bad Id\") id must be 1-48 characters of a-z, 0-9, '_', '.' and '-'; the first variant is shown",
    "rapport: experiment(\"empty\") variants must be 1-10 distinct names of a-z, 0-9, '_', '.' and '-'; the first variant is shown",
    "rapport: experiment(\"twice\") variants must be 1-10 distinct names of a-z, 0-9, '_', '.' and '-'; the first variant is shown",
    'rapport: experiment("weights") weights must be one number of at least 0 per variant, not all 0; the first variant is shown',
    'rapport: experiment("zero") weights must be one number of at least 0 per variant, not all 0; the first variant is shown',
  ]);
  await page.waitForTimeout(300);
  expect(named(await collector.events(), 'experiment_exposed')).toEqual([]);
  expect(consoleLog.pageErrors).toEqual([]);
});

test('the declarative form shows no variant before the decision and only the chosen one after', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/exp.html`;
  await servePage(page, url, page_('data-experiment-timeout="8000"', layouts));
  // The wasm arrives late: the decision waits for it.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route('**/embed/rapport_widget_bg.wasm', async (route) => { await held; await route.continue(); });
  await page.goto(url);
  await page.waitForTimeout(700);
  expect(await shown(page)).toEqual([]);
  release();
  await expect.poll(() => shown(page)).toHaveLength(1);
  const [visible] = await shown(page);
  const all = await collector.waitFor((events) => named(events, 'experiment_exposed').length === 1);
  const exposure = named(all, 'experiment_exposed')[0];
  expect(exposure.props.variant).toBe(visible === 'a' ? 'list' : 'grid');
  // The author's display comes back for the chosen one.
  expect(await page.evaluate((id) => getComputedStyle(document.getElementById(id)).display, visible)).toBe('flex');
  // Reloaded: the same variant.
  await page.reload();
  await expect.poll(() => shown(page)).toEqual([visible]);
  expect(consoleLog.pageErrors).toEqual([]);
});

test('without a decision in time the first variant shows and no exposure is recorded', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/exp.html`;
  await servePage(page, url, page_('data-experiment-timeout="300"', layouts));
  await slowModule(page, 1500);
  await page.goto(url);
  await expect.poll(() => shown(page)).toEqual(['a']);
  // The tracker starts later and keeps the page as it is.
  await collector.waitFor((events) => named(events, 'page_view').length === 1);
  await page.waitForTimeout(500);
  expect(await shown(page)).toEqual(['a']);
  expect(named(await collector.events(), 'experiment_exposed')).toEqual([]);
  expect(consoleLog.pageErrors).toEqual([]);
});

test('a bad data-experiment-timeout gets one console line naming it, and the wait is 1000 ms', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/exp.html`;
  await servePage(page, url, page_('data-experiment-timeout="20000"', layouts));
  // The module arrives after 3 s: with a wait of 20 s nothing would show by then.
  await slowModule(page, 3000);
  await page.goto(url);
  await expect.poll(() => shown(page), { timeout: 2500 }).toEqual(['a']);
  await expect.poll(() => consoleLog.rapport().map((m) => m.text)).toEqual([
    'rapport: config field "data-experiment-timeout" must be 0-10000 ms; using 1000',
  ]);
  // Tracking goes on with the other settings.
  await collector.waitFor((events) => named(events, 'page_view').length === 1);
  expect(consoleLog.pageErrors).toEqual([]);
});

test('with Do Not Track the first variant shows at once and nothing is recorded', async ({ browser, collector }) => {
  const context = await browser.newContext({ extraHTTPHeaders: {} });
  const page = await context.newPage();
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
  const url = `${collector.url}/demo/exp.html`;
  await servePage(page, url, page_('data-experiment-timeout="5000"', layouts));
  await page.goto(url);
  await expect.poll(() => shown(page), { timeout: 2000 }).toEqual(['a']);
  expect(await page.evaluate(() => rapport.experiment('hero', ['x', 'y']))).toBe('x');
  await page.waitForTimeout(300);
  expect(await collector.events()).toEqual([]);
  await context.close();
});

/** The dashboard's 95 % interval verdict for two proportions, as docs/metrics.md defines it. */
function verdict(x1, n1, x0, n0) {
  const p1 = x1 / n1, p0 = x0 / n0;
  const half = 1.959963984540054 * Math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0);
  const low = p1 - p0 - half, high = p1 - p0 + half;
  return low > 0 ? 'higher than the control' : high < 0 ? 'lower than the control' : 'not yet distinguishable';
}

test('the demo shop\'s layout experiment: 40 visitors, and the dashboard shows their numbers', async ({ browser, collector }) => {
  test.setTimeout(120_000);
  const seen = { classic: { visitors: 0, clicked: 0 }, 'buy-first': { visitors: 0, clicked: 0 } };
  let clicks = 0;
  for (let i = 0; i < 40; i++) {
    const context = await browser.newContext();
    await fastBatches(context);
    const page = await context.newPage();
    await page.goto(`${collector.url}/demo/product.html?sku=mug-01`);
    const chosen = page.locator('[data-rapport-chosen]');
    await expect(chosen).toHaveCount(1);
    const variant = await chosen.getAttribute('data-rapport-variant');
    seen[variant].visitors += 1;
    // The scripted difference: three in four buy-first visitors add to cart, one in four
    // classic ones.
    if (variant === 'buy-first' ? i % 4 !== 0 : i % 4 === 0) {
      await page.getByRole('button', { name: 'Add to cart' }).click();
      seen[variant].clicked += 1;
      clicks += 1;
    }
    await collector.waitFor((events) => named(events, 'experiment_exposed').length === i + 1 &&
      named(events, 'add_to_cart').length === clicks);
    await context.close();
  }
  expect(seen.classic.visitors + seen['buy-first'].visitors).toBe(40);
  expect(seen.classic.visitors).toBeGreaterThan(5);
  expect(seen['buy-first'].visitors).toBeGreaterThan(5);

  const page = await browser.newPage();
  await page.goto(`${collector.url}/?site=demo&goal=add_to_cart`);
  const table = page.locator('table[data-experiment="product-layout"]');
  await expect(table).toBeVisible();
  const value = (variant, measure) => table.locator(`tr[data-variant="${variant}"] td[data-measure="${measure}"]`)
    .evaluate((td) => td.firstChild.textContent);
  for (const variant of ['classic', 'buy-first']) {
    const { visitors, clicked } = seen[variant];
    await expect(table.locator(`tr[data-variant="${variant}"] td`).nth(1)).toHaveText(String(visitors));
    const rate = `${(clicked / visitors * 100).toFixed(1)} %`;
    expect(await value(variant, 'engagement_rate')).toBe(rate);
    expect(await value(variant, 'conversion_rate')).toBe(rate);
  }
  await expect(table.locator('tr[data-variant="classic"] td').first()).toHaveText('classic (control)');
  const b = seen['buy-first'], c = seen.classic;
  await expect(table.locator('tr[data-variant="buy-first"] td[data-measure="engagement_rate"] .verdict'))
    .toHaveText(verdict(b.clicked, b.visitors, c.clicked, c.visitors));
  // Time is compared too; with these visits it cannot be told apart yet.
  await expect(table.locator('tr[data-variant="buy-first"] td[data-measure="avg_engaged_ms"] .verdict')).toHaveText(/./);
  // The same numbers as CSV: a line per variant and measure.
  const download = page.waitForEvent('download');
  await page.locator('.section-head', { hasText: 'Experiments' }).getByRole('button', { name: 'Export CSV' }).click();
  const csv = fs.readFileSync(await (await download).path(), 'utf8').trim().split('\r\n');
  expect(csv[0]).toBe('experiment,variant,visitors,measure,value,difference,low,high,distinguishable');
  expect(csv).toHaveLength(1 + 2 * 4);
  const line = csv.find((l) => l.startsWith('product-layout,classic,') && l.includes(',conversion_rate,'));
  expect(line.split(',')[2]).toBe(String(seen.classic.visitors));
  await page.close();
});

test('under a strict Content-Security-Policy the declarative form still hides, decides and shows', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/exp-csp.html`;
  const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'">`;
  await servePage(page, url, csp + page_('', layouts));
  await page.goto(url);
  await expect.poll(() => shown(page)).toHaveLength(1);
  const [visible] = await shown(page);
  const all = await collector.waitFor((events) => named(events, 'experiment_exposed').length === 1);
  expect(named(all, 'experiment_exposed')[0].props.variant).toBe(visible === 'a' ? 'list' : 'grid');
  expect(consoleLog.rapport()).toEqual([]);
  expect(consoleLog.pageErrors).toEqual([]);
});
