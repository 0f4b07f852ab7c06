// The dashboard in Chromium: numbers and charts match the stats API, and it fits a phone.
const { test, expect } = require('./fixtures');
const { USER_AGENT } = require('./browser');

const DAY = 86_400_000;
const XSS = '<img src=x onerror="window.__xss=1">';

function id(kind, n) {
  return `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Posts a batch as a browser would, returning the collector's answer. */
async function seed(collector, events) {
  const res = await fetch(`${collector.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'user-agent': USER_AGENT },
    body: JSON.stringify({ site: 'demo', sent_at: Date.now(), events }),
  });
  expect(res.status).toBe(200);
}

test('the dashboard shows the stats API numbers and charts, as text, on desktop and phone', async ({ page, collector, consoleLog }, testInfo) => {
  const today = Math.floor(Date.now() / DAY);
  const noon = (daysAgo) => (today - daysAgo) * DAY + DAY / 2;
  let n = 0;
  const ev = (name, ts, visitor, session, pageview, path, props = {}, returning = false) => ({
    id: id(1, ++n), name, ts, visitor_id: id(2, visitor), session_id: id(3, session),
    pageview_id: id(4, pageview), returning, url: `https://shop.example${path}`, props,
  });
  await seed(collector, [
    ev('page_view', noon(2), 1, 1, 1, '/'),
    ev('page_engagement', noon(2) + 12_000, 1, 1, 1, '/', { engaged_ms: 12_000, scroll_max: 80 }),
    ev('add_to_cart', noon(2) + 13_000, 1, 1, 1, '/', { sku: 'mug' }),
    ev('page_view', noon(1), 2, 2, 2, `/p/${XSS}`),
    ev('scroll_milestone', noon(1) + 1_000, 2, 2, 2, `/p/${XSS}`, { depth: 25 }),
    ev('page_view', noon(1) + 5_000, 3, 3, 3, '/', {}, true),
    ev('feedback_submitted', noon(1) + 9_000, 3, 3, 3, '/', { type: 'nps', score: 9 }, true),
    ev('page_view', noon(1) + 60_000, 4, 4, 4, '/'),
    ev('feedback_submitted', noon(1) + 62_000, 4, 4, 4, '/', { type: 'nps', score: 4 }),
    ev('feedback_submitted', noon(1) + 63_000, 4, 4, 4, '/', { type: 'csat', score: 5 }),
    ev('referral_shared', noon(1) + 64_000, 4, 4, 4, '/', { channel: 'copy' }),
    ev('page_view', noon(1) + 70_000, 5, 5, 5, '/?ref=RITA2026', { referral_code: 'RITA2026' }),
  ]);
  const date = (day) => new Date(day * DAY).toISOString().slice(0, 10);
  const from = date(today - 2), to = date(today - 1);
  const stats = await (await fetch(`${collector.url}/v1/sites/demo/stats?from=${from}&to=${to}`)).json();
  expect(stats.total.visitors).toBe(5);

  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(`${collector.url}/?site=demo&from=${from}&to=${to}`);
  await expect(page.locator('body')).toHaveAttribute('data-loaded', /\d+/);
  const card = (metric) => page.locator(`[data-metric="${metric}"]`);
  const t = stats.total;
  await expect(card('visitors')).toHaveText(String(t.visitors));
  await expect(card('sessions')).toHaveText(String(t.sessions));
  await expect(card('returning_share')).toHaveText(`${t.returning_share.toFixed(1)} %`);
  await expect(card('bounce_rate')).toHaveText(`${t.bounce_rate.toFixed(1)} %`);
  await expect(card('engagement_rate')).toHaveText(`${t.engagement_rate.toFixed(1)} %`);
  await expect(card('pages_per_session')).toHaveText(t.pages_per_session.toFixed(2));
  await expect(card('avg_session_engaged_ms')).toHaveText(`${(t.avg_session_engaged_ms / 1000).toFixed(1)} s`);
  await expect(card('avg_session_span_ms')).toHaveText(`${(t.avg_session_span_ms / 1000).toFixed(1)} s`);
  await expect(card('nps')).toHaveText(t.feedback.nps.toFixed(0));
  await expect(card('csat_average')).toHaveText(`${t.feedback.csat_average.toFixed(2)} / 5`);

  // One bar per day, per scroll threshold and per NPS score, carrying the API's values.
  const values = (chart) => page.locator(`#${chart} rect`).evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('data-value'))));
  expect(await values('chart-visitors')).toEqual(stats.days.map((d) => d.visitors));
  expect(await values('chart-scroll')).toEqual(t.scroll_reach);
  expect(await values('chart-nps')).toEqual(t.feedback.nps_distribution);
  // The referral funnel from events (this site has no loyalty program, so no orders).
  const r = stats.programs.referral;
  expect([r.links_shared, r.referred_visitors]).toEqual([1, 1]);
  await expect(page.locator('[data-program="referral.links_shared"]')).toHaveText('1');
  await expect(page.locator('[data-program="points.issued"]')).toHaveText(String(stats.programs.points.issued));
  expect(await values('chart-funnel')).toEqual([r.links_shared, r.referred_visitors, r.orders, r.earned]);
  const rates = await page.locator('#chart-rates circle').evaluateAll((c) => c.map((e) => Number(e.getAttribute('data-value'))));
  const expectedRates = [...stats.days.map((d) => d.bounce_rate), ...stats.days.map((d) => d.engagement_rate)].filter((v) => v !== null);
  expect(rates).toEqual(expectedRates);

  // A page path with markup is shown literally and runs nothing.
  await expect(page.locator('#pages td', { hasText: XSS.slice(0, 8) })).toHaveText(`/p/${XSS}`);
  expect(await page.evaluate(() => window.__xss)).toBeUndefined();
  await page.screenshot({ path: testInfo.outputPath('dashboard-desktop.png'), fullPage: true });

  // On a phone the page reflows instead of scrolling sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: testInfo.outputPath('dashboard-phone.png'), fullPage: true });

  // The date-range control drives the API: one day shows its 24 hours.
  await page.fill('#from', to);
  await page.click('button[type=submit]');
  await expect.poll(() => page.locator('#chart-visitors rect').count()).toBe(24);
  expect(new URL(page.url()).searchParams.get('from')).toBe(to);
  const day = await (await fetch(`${collector.url}/v1/sites/demo/stats?from=${to}&to=${to}`)).json();
  expect(day.hours.map((h) => h.visitors).reduce((a, b) => a + b)).toBeGreaterThan(0);
  expect(await values('chart-visitors')).toEqual(day.hours.map((h) => h.visitors));
  expect(consoleLog.pageErrors).toEqual([]);
});

test.describe('with the admin token', () => {
  const TOKEN = 'dashboard-token-0123456789';
  test.use({ collectorArgs: ['--admin-token', TOKEN] });

  test('the site data needs the token; the dashboard asks for it and keeps it in memory only', async ({ page, collector }) => {
    const stats = await fetch(`${collector.url}/v1/sites/demo/stats`);
    expect(stats.status).toBe(401);
    expect((await fetch(`${collector.url}/v1/sites/demo/events`)).status).toBe(401);
    await page.goto(`${collector.url}/`);
    const form = page.locator('#token-form');
    await expect(form).toBeVisible();
    await expect(page.locator('[data-metric="visitors"]')).toHaveText('–');
    // A wrong token is sent, refused, and the form comes back.
    const refused = page.waitForResponse((r) => r.url().endsWith('/v1/sites') &&
      r.request().headers().authorization === 'Bearer not-the-token-000000');
    await page.fill('#token', 'not-the-token-000000');
    await form.getByRole('button', { name: 'Sign in' }).click();
    expect((await refused).status()).toBe(401);
    await expect(form).toBeVisible();
    await expect(page.locator('#status')).toContainText('authorization');
    await page.fill('#token', TOKEN);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.locator('body')).toHaveAttribute('data-loaded', /\d+/);
    await expect(page.locator('[data-metric="visitors"]')).toHaveText('0');
    await expect(form).toBeHidden();
    // Kept in memory only: a reload asks again, and nothing of it is in storage.
    expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }))).not.toContain(TOKEN);
    await page.reload();
    await expect(form).toBeVisible();
  });
});

test.describe('with owner tokens and a shared link', () => {
  const sha = (t) => `sha256:${require('node:crypto').createHash('sha256').update(t).digest('hex')}`;
  const OWNER = 'rpt_e2e-owner-0123456789abcdef0123456789abcd';
  const LINK = 'rpt_e2e-shared-0123456789abcdef0123456789abc';
  // demo and second are the owner's, other is someone else's; the link shows demo's stats.
  test.use({
    siteConfig: `owners = ["${sha(OWNER)}"]\nshared = ["${sha(LINK)}"]\n` +
      `[[site]]\nid = "second"\norigins = ["*"]\nowners = ["${sha(OWNER)}"]\n` +
      `[[site]]\nid = "other"\norigins = ["*"]\nowners = ["${sha('rpt_someone-else-0123456789abcdef01234567')}"]\n`,
  });

  test('an owner signs in and picks among their own sites only', async ({ page, collector }) => {
    const auth = { headers: { authorization: `Bearer ${OWNER}` } };
    expect((await fetch(`${collector.url}/v1/sites/other/stats`, auth)).status).toBe(404);
    await page.goto(`${collector.url}/?site=other`);
    await page.fill('#token', OWNER);
    await page.locator('#token-form').getByRole('button', { name: 'Sign in' }).click();
    await expect(page.locator('body')).toHaveAttribute('data-loaded', /\d+/);
    await expect(page.locator('#site option')).toHaveText(['demo', 'second']);
    // The URL's site is not the owner's: the dashboard shows their first one.
    await expect(page.locator('#site')).toHaveValue('demo');
    expect(new URL(page.url()).searchParams.get('site')).toBe('demo');
    await page.selectOption('#site', 'second');
    await expect.poll(() => new URL(page.url()).searchParams.get('site')).toBe('second');
    expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }))).not.toContain(OWNER);
  });

  test('a shared link shows the stats and never asks for events or feedback', async ({ page, collector }) => {
    const asked = [];
    page.on('request', (r) => asked.push(new URL(r.url()).pathname));
    await page.goto(`${collector.url}/?site=demo&share=${LINK}`);
    await expect(page.locator('body')).toHaveAttribute('data-loaded', /\d+/);
    await expect(page.locator('#token-form')).toBeHidden();
    await expect(page.locator('#site option')).toHaveText(['demo']);
    expect(asked).toContain('/v1/sites/demo/stats');
    expect(asked.filter((p) => /\/(events|feedback)$/.test(p))).toEqual([]);
    const link = { headers: { authorization: `Bearer ${LINK}` } };
    expect((await fetch(`${collector.url}/v1/sites/demo/feedback`, link)).status).toBe(403);
    expect((await fetch(`${collector.url}/v1/sites/second/stats`, link)).status).toBe(404);
    // A link's view manages no links.
    await expect(page.locator('#shared-links')).toBeHidden();
  });

  test('an owner makes a shared link, which reads the stats until revoked', async ({ page, collector }) => {
    await page.goto(`${collector.url}/?site=demo`);
    await page.fill('#token', OWNER);
    await page.locator('#token-form').getByRole('button', { name: 'Sign in' }).click();
    const section = page.locator('#shared-links');
    await expect(section).toBeVisible();
    await expect(section.locator('li')).toHaveCount(0);
    await page.fill('#link-label', 'board');
    await section.getByRole('button', { name: 'Make a link' }).click();
    // Its address, token included, is shown this once; the list shows its label only.
    const address = page.locator('#link-address');
    await expect(address).toHaveValue(/\/\?site=demo&share=rpt_/);
    const token = new URL(await address.inputValue()).searchParams.get('share');
    await expect(section.locator('li')).toHaveCount(1);
    await expect(section.locator('li span')).toHaveText('board');
    await expect(section).not.toContainText(token);
    const link = { headers: { authorization: `Bearer ${token}` } };
    expect((await fetch(`${collector.url}/v1/sites/demo/stats`, link)).status).toBe(200);
    expect((await fetch(`${collector.url}/v1/sites/demo/events`, link)).status).toBe(403);
    await section.getByRole('button', { name: 'Revoke' }).click();
    await expect(section.locator('li')).toHaveCount(0);
    expect((await fetch(`${collector.url}/v1/sites/demo/stats`, link)).status).toBe(401);
  });
});
