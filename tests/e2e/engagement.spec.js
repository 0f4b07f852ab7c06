// Engagement tracking in Chromium against the real collector: scroll milestones, engaged
// time, SPA navigations, bounce, sessions across reloads, the back/forward cache, privacy
// (DNT, GPC, consent, opt-out, URL allowlist), attribution and declarative events.
const { chromium } = require('@playwright/test');
const { test, expect, servePage, batchBody } = require('./fixtures');
const { USER_AGENT, ownBrowser } = require('./browser');

const named = (events, name) => events.filter((e) => e.name === name);
const journal = (collector) => `${collector.url}/demo/journal.html`;
// Milestones of one scroll share a timestamp, so the collector's order among them is arbitrary.
const depths = (events) => named(events, 'scroll_milestone').map((e) => e.props.depth).sort((a, b) => a - b);

/** Makes the page hidden or visible, as switching tabs or minimising would. */
async function setHidden(page, hidden) {
  return page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
    return performance.now();
  }, hidden);
}

/** Real pointer input; resolves with the page time it happened. */
async function touch(page) {
  await page.mouse.click(5, 300);
  return page.evaluate(() => performance.now());
}

/** A tracked page on the collector's origin with `attrs` on the script tag. */
function trackedPage(body = '', attrs = '') {
  return `<!doctype html><meta charset="utf-8"><title>t</title>
    <script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="100" ${attrs}></script>
    ${body}`;
}

/** The largest `engaged_ms` of a pageview: later reports carry running totals. */
const engagedOf = (events) => Math.max(0, ...named(events, 'page_engagement').map((e) => e.props.engaged_ms));

test('scrolling to 50 % then 100 % yields milestones 25 and 50, then 75, 90 and 100, each once', async ({ page, collector, consoleLog }) => {
  await page.goto(journal(collector));
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  const viewport = await page.evaluate(() => innerHeight);
  expect(height).toBeGreaterThan(4 * viewport); // the first screen is under 25 %

  await page.evaluate(([h, v]) => scrollTo(0, h * 0.5 - v + 2), [height, viewport]);
  let all = await collector.waitFor((events) => named(events, 'scroll_milestone').length >= 2);
  await page.waitForTimeout(300);
  all = await collector.events();
  expect(depths(all)).toEqual([25, 50]);

  await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
  all = await collector.waitFor((events) => named(events, 'scroll_milestone').length >= 5);
  // Scrolling back up and down again reports nothing new.
  await page.evaluate(() => scrollTo(0, 0));
  await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
  await setHidden(page, true);
  all = await collector.waitFor((events) => named(events, 'page_engagement').length >= 1);
  expect(depths(all)).toEqual([25, 50, 75, 90, 100]);
  const pageview = named(all, 'page_view')[0].pageview_id;
  expect(new Set(all.map((e) => e.pageview_id))).toEqual(new Set([pageview]));
  expect(named(all, 'page_engagement')[0].props.scroll_max).toBe(100);
  expect(consoleLog.pageErrors).toEqual([]);
});

test('engaged time with a hidden interval in the middle is within 10 % of the scripted time', async ({ page, collector }) => {
  test.setTimeout(40_000);
  await page.goto(journal(collector));
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  const t0 = await touch(page);
  await page.waitForTimeout(3000);
  const t1 = await setHidden(page, true);
  await page.waitForTimeout(3000); // hidden: does not count
  await setHidden(page, false);
  const t2 = await touch(page);
  await page.waitForTimeout(3000);
  const t3 = await setHidden(page, true);
  const scripted = (t1 - t0) + (t3 - t2);
  const all = await collector.waitFor((events) => named(events, 'page_engagement').length >= 2);
  const engaged = engagedOf(all);
  expect(Math.abs(engaged - scripted)).toBeLessThanOrEqual(scripted * 0.1);
  expect(engaged).toBeLessThan(scripted + 2000); // the hidden 3 s are not in it
});

test('an SPA navigation is a second pageview in the same session', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/spa/`;
  await servePage(page, url, trackedPage(`<h1>SPA</h1>
    <button id="go" onclick="history.pushState({}, '', '/demo/spa/cart?step=2')">cart</button>
    <button id="same" onclick="history.replaceState({ s: 1 }, '', location.href)">same</button>
    <button id="anchor" onclick="location.hash = 'reviews'">anchor</button>`));
  await page.goto(url);
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  await page.click('#go');
  await page.click('#same'); // the URL did not change: no page view
  await page.click('#anchor'); // only the fragment changed (popstate fires): no page view
  const all = await collector.waitFor((events) => named(events, 'page_view').length === 2);
  await page.waitForTimeout(300);
  const views = named(await collector.events(), 'page_view');
  expect(views).toHaveLength(2);
  expect(views[0].session_id).toBe(views[1].session_id);
  expect(views[0].pageview_id).not.toBe(views[1].pageview_id);
  expect(views[1].url).toBe(`${collector.url}/demo/spa/cart`); // query not allowlisted
  expect(views[1].referrer).toBe(url);
  expect(all.length).toBeGreaterThanOrEqual(2);
  expect(consoleLog.pageErrors).toEqual([]);
});

test('a 3 s single-page visit is a bounce and a 12 s active one is not', async ({ page, context, collector }) => {
  test.setTimeout(45_000);
  await page.goto(journal(collector));
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  await touch(page);
  await page.waitForTimeout(3000);
  await setHidden(page, true);
  let all = await collector.waitFor((events) => named(events, 'page_engagement').length === 1);
  const short = named(all, 'page_engagement')[0];
  expect(short.props.bounce).toBe(true);
  expect(short.props.session_pageviews).toBe(1);

  // A new visitor (fresh context) active for 12 s.
  const other = await context.browser().newContext({ userAgent: await page.evaluate(() => navigator.userAgent) });
  const active = await other.newPage();
  await active.goto(journal(collector));
  for (let i = 0; i < 6; i++) {
    await touch(active);
    await active.waitForTimeout(2000);
  }
  await setHidden(active, true);
  all = await collector.waitFor((events) => named(events, 'page_engagement').length >= 2);
  const visitor = named(all, 'page_view').find((e) => e.visitor_id !== short.visitor_id).visitor_id;
  const long = named(all, 'page_engagement').filter((e) => e.visitor_id === visitor).pop();
  expect(long.props.engaged_ms).toBeGreaterThanOrEqual(10_000);
  expect(long.props.bounce).toBe(false);
  await other.close();
});

test('a reload keeps the session; a visit after 30 idle minutes is a returning visitor', async ({ page, collector }) => {
  await page.goto(journal(collector));
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  await page.reload();
  let views = named(await collector.waitFor((all) => named(all, 'page_view').length === 2), 'page_view');
  expect(views[1].session_id).toBe(views[0].session_id);
  expect(views[1].props.visit_count).toBe(1);
  expect(views.every((e) => e.returning === false)).toBe(true);

  // 31 minutes pass: on an untracked page of the origin (so no pagehide report rewrites
  // it), move the stored last activity back instead of waiting.
  await servePage(page, `${collector.url}/demo/elsewhere.html`, '<!doctype html><title>elsewhere</title>');
  await page.goto(`${collector.url}/demo/elsewhere.html`);
  await page.evaluate(() => {
    const visit = JSON.parse(localStorage.getItem('rapport:visit'));
    visit.n[3] -= 31 * 60 * 1000;
    localStorage.setItem('rapport:visit', JSON.stringify(visit));
  });
  await page.goto(journal(collector));
  views = named(await collector.waitFor((all) => named(all, 'page_view').length === 3), 'page_view');
  expect(views[2].session_id).not.toBe(views[0].session_id);
  expect(views[2].visitor_id).toBe(views[0].visitor_id);
  expect(views[2].returning).toBe(true);
  expect(views[2].props.visit_count).toBe(2);
});

test('a back/forward-cache restore does not count the pageview twice', async ({ collector }) => {
  // Up to three attempts of two navigations each: the budget is three tests' worth.
  test.setTimeout(90_000);
  // Playwright turns the back/forward cache off by default; this test needs it.
  const browser = await chromium.launch(ownBrowser([], { ignoreDefaultArgs: ['--disable-back-forward-cache'] }));
  // Chromium may keep a page out of the cache for reasons of its own (a Web Lock or a
  // request in flight at that instant); such an attempt says so and the next one, as a new
  // visitor, tries again. What is tested is what happens once a page is restored.
  const notRestored = [];
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const context = await browser.newContext({ userAgent: USER_AGENT });
      const page = await context.newPage();
      await page.addInitScript(() => addEventListener('pageshow', (e) => { window.restored = e.persisted; }));
      await page.goto(journal(collector));
      await page.waitForFunction(() => localStorage.getItem('rapport:visit'));
      const visitor = await page.evaluate(() => JSON.parse(localStorage.getItem('rapport:visit')).v);
      const mine = (events) => events.filter((e) => e.visitor_id === visitor);
      await collector.waitFor((all) => named(mine(all), 'page_view').length === 1);
      await page.waitForLoadState('networkidle');
      await page.click('#to-shop');
      await collector.waitFor((all) => named(mine(all), 'page_view').length === 2);
      await page.waitForLoadState('networkidle');
      // A restore that Playwright does not see as a navigation still sets window.restored.
      await page.goBack({ waitUntil: 'commit', timeout: 10_000 }).catch(() => {});
      const restored = await page.waitForFunction(() => window.restored !== undefined, null, { timeout: 5000 })
        .then(() => page.evaluate(() => window.restored)).catch(() => false);
      if (!restored) {
        notRestored.push(await page.evaluate(() => JSON.stringify(performance.getEntriesByType('navigation')[0].notRestoredReasons)).catch(() => 'unknown'));
        await context.close();
        continue;
      }
      // The restored pageview goes on: a scroll there reports under the first pageview id.
      await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
      const onJournal = (e) => e.url.endsWith('/journal.html');
      const all = mine(await collector.waitFor((events) => named(mine(events), 'scroll_milestone').some((e) => onJournal(e) && e.props.depth === 100)));
      const views = named(all, 'page_view');
      expect(views.map((e) => new URL(e.url).pathname)).toEqual(['/demo/journal.html', '/demo/']);
      const deepest = named(all, 'scroll_milestone').find((e) => onJournal(e) && e.props.depth === 100);
      expect(deepest.pageview_id).toBe(views[0].pageview_id);
      return;
    }
    throw new Error(`no attempt was restored from the back/forward cache: ${notRestored.join('; ')}`);
  } finally {
    await browser.close();
  }
});

test('Do Not Track and Global Privacy Control send and store nothing; data-dnt="ignore" overrides', async ({ page, collector }) => {
  const requests = [];
  page.on('request', (r) => { if (r.url().endsWith('/v1/batch')) requests.push(r.url()); });
  await page.addInitScript(() => {
    if (location.pathname.includes('dnt')) Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' });
    else Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });
  });
  for (const name of ['dnt', 'gpc']) {
    const url = `${collector.url}/demo/${name}.html`;
    await servePage(page, url, trackedPage(`<script>rapport.track('clicked')</script>`));
    await page.goto(url);
    await page.waitForTimeout(1000);
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('rapport:')))).toEqual([]);
  }
  expect(requests).toEqual([]);
  expect(await collector.events()).toEqual([]);

  const url = `${collector.url}/demo/dnt-ignored.html`;
  await servePage(page, url, trackedPage('', 'data-dnt="ignore"'));
  await page.goto(url);
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
});

test('with data-consent="required" nothing is stored or sent until consent(true)', async ({ page, collector }) => {
  const url = `${collector.url}/demo/consent.html`;
  await servePage(page, url, trackedPage(`<script>rapport.track('before_consent')</script>`, 'data-consent="required"'));
  let batches = 0;
  page.on('request', (r) => { if (r.url().endsWith('/v1/batch')) batches += 1; });
  await page.goto(url);
  await page.waitForTimeout(1000);
  expect(batches).toBe(0);
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('rapport:')))).toEqual([]);
  await page.evaluate(() => rapport.consent(true));
  const all = await collector.waitFor((events) => named(events, 'before_consent').length === 1);
  expect(named(all, 'page_view')).toHaveLength(1);
});

test('optOut() clears every rapport: key, keeps the host keys, and stops tracking', async ({ page, collector }) => {
  await page.goto(journal(collector));
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  await page.evaluate(() => {
    localStorage.setItem('cart', 'host-owned');
    rapport.optOut();
    rapport.track('after_opt_out');
  });
  const keys = await page.evaluate(() => Object.keys(localStorage).sort());
  expect(keys).toEqual(['cart', 'rapport:opt_out']);
  // A consent tool withdrawing consent later does not undo the opt-out.
  await page.evaluate(() => rapport.consent(false));
  expect(await page.evaluate(() => localStorage.getItem('rapport:opt_out'))).toBe('1');
  await page.reload();
  await page.evaluate(() => rapport.track('next_page'));
  await page.waitForTimeout(1000);
  const all = await collector.events();
  expect(named(all, 'page_view')).toHaveLength(1);
  expect(named(all, 'after_opt_out').length + named(all, 'next_page').length).toBe(0);
});

test('URLs keep only UTM and referral parameters; attribution rides on later events', async ({ page, collector }) => {
  const landing = `${collector.url}/demo/landing.html?email=ann%40example.com&utm_source=news&utm_campaign=spring%20sale&ref=FRIEND1&token=s3cret#top`;
  await servePage(page, `${collector.url}/demo/landing.html*`, trackedPage(`
    <button id="next" onclick="history.pushState({}, '', '/demo/landing.html?page=2')">next</button>
    <button id="buy" onclick="rapport.track('purchase', { total: 42 })">buy</button>`));
  await page.goto(landing);
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  await page.click('#next');
  await page.click('#buy');
  const all = await collector.waitFor((events) => named(events, 'purchase').length === 1);
  const [first, second] = named(all, 'page_view');
  expect(first.url).toBe(`${collector.url}/demo/landing.html?utm_source=news&utm_campaign=spring+sale&ref=FRIEND1`);
  expect(second.url).toBe(`${collector.url}/demo/landing.html`);
  for (const e of [first, second, named(all, 'purchase')[0]]) {
    expect(e.props.utm_source).toBe('news');
    expect(e.props.utm_campaign).toBe('spring sale');
    expect(e.props.referral_code).toBe('FRIEND1');
    expect(JSON.stringify(e)).not.toContain('s3cret');
    expect(JSON.stringify(e)).not.toContain('ann');
  }
  expect(named(all, 'purchase')[0].props.total).toBe(42);
});

test('attribution is not taken from a framed page', async ({ page, collector }) => {
  await servePage(page, `${collector.url}/demo/framed.html*`, trackedPage('<p>framed</p>'));
  await servePage(page, `${collector.url}/demo/host.html`, '<!doctype html><iframe src="/demo/framed.html?utm_source=ad&ref=X"></iframe>');
  await page.goto(`${collector.url}/demo/host.html`);
  const all = await collector.waitFor((events) => named(events, 'page_view').length === 1);
  const view = named(all, 'page_view')[0];
  expect(view.props.utm_source).toBeUndefined();
  expect(view.props.referral_code).toBeUndefined();
});

test('data-rapport-event clicks and identify() become events with their props', async ({ page, collector, consoleLog }) => {
  const sent = [];
  page.on('request', (r) => { if (r.url().includes('/v1/batch')) sent.push(...batchBody(r).events); });
  await page.goto(journal(collector));
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  await page.evaluate(() => rapport.identify('cust-42', { hash: 'a1b2c3' }));
  await page.click('button[data-rapport-event]');
  await page.evaluate(() => rapport.track('feedback_submitted', { prompt_id: 'nps', score: 9 }));
  const all = await collector.waitFor((events) => named(events, 'story_shared').length === 1 &&
    named(events, 'feedback_submitted').length === 1);
  const shared = named(all, 'story_shared')[0];
  expect(shared.props).toMatchObject({ story: 'mug-making', channel: 'button', user_id: 'cust-42' });
  // The identity proof goes only where the collector checks it, and is not stored.
  expect(shared.props.user_hash).toBeUndefined();
  expect(named(sent, 'feedback_submitted')[0].props).toMatchObject({ user_id: 'cust-42', user_hash: 'a1b2c3' });
  expect(named(all, 'feedback_submitted')[0].props).toMatchObject({ user_id: 'cust-42' });
  expect(named(all, 'feedback_submitted')[0].props.user_hash).toBeUndefined();
  // A userId the identity headers could not carry is refused with a message naming it.
  await page.evaluate(() => rapport.identify('José Núñez', { hash: 'a1b2c3' }));
  await expect.poll(() => consoleLog.rapport().map((m) => m.text)).toEqual([expect.stringContaining('userId must be 1-256 printable ASCII')]);
});

test('bad optional settings name their attribute and track nothing', async ({ page, collector, consoleLog }) => {
  const url = `${collector.url}/demo/bad-option.html`;
  await servePage(page, url, trackedPage('', 'data-idle-timeout="2"'));
  await page.goto(url);
  await expect.poll(() => consoleLog.rapport().length).toBe(1);
  expect(consoleLog.rapport()[0].text).toContain('"data-idle-timeout"');
  await page.evaluate(() => rapport.track('ignored'));
  await page.waitForTimeout(500);
  expect(await collector.events()).toEqual([]);
  expect(consoleLog.pageErrors).toEqual([]);
});
