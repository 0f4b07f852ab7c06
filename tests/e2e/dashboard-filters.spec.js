// The dashboard's segments, ranges and languages in Chromium against the real collector:
// clicking a breakdown value filters every card and chart to the API's filtered numbers and
// the URL reproduces the view; labels never overlap at one day, 30 days and a year; Arabic
// runs time right to left; axe-core finds nothing in English or Arabic; and the desktop and
// phone layouts are saved as screenshots in both.
const { test, expect } = require('./fixtures');
const { USER_AGENT } = require('./browser');

const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY);
const date = (day) => new Date(day * DAY).toISOString().slice(0, 10);
const id = (kind, k) => `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${k.toString(16).padStart(12, '0')}`;
// A moment of `day`: its noon, or for today a moment ago but never in its first 30 s (the
// collector refuses the future). The collector refuses events more than 7 days older than
// their batch, so tests seed only `today - 6` to `today`, within 6.5 days at any hour.
const at = (day, offset = 0) => Math.max(day * DAY + 30_000, Math.min(day * DAY + DAY / 2, Date.now() - 60_000)) + offset;

let n = 0;
/** One event of `visitor` in its session of `day`. */
const ev = (name, day, visitor, path = '/', extra = {}) => {
  n += 1;
  return {
    id: id(1, n), name, ts: at(day, -n), visitor_id: id(2, visitor), session_id: id(3, visitor * 1000 + (day % 1000)),
    pageview_id: id(4, visitor * 1000 + (day % 1000)), returning: false, url: `https://shop.example${path}`, props: {}, ...extra,
  };
};

async function seed(collector, events) {
  for (let i = 0; i < events.length; i += 500) {
    const res = await fetch(`${collector.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'user-agent': USER_AGENT },
      body: JSON.stringify({ site: 'demo', sent_at: Date.now(), events: events.slice(i, i + 500) }),
    });
    expect(res.status, await res.text()).toBe(200);
  }
}

const api = async (collector, path) => (await fetch(`${collector.url}/v1/sites/demo/${path}`)).json();
const loaded = (page) => expect(page.locator('body')).toHaveAttribute('data-loaded', /\d+/);
const values = (page, chart, shape = 'rect') => page.locator(`#${chart} ${shape}`).evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));
const en = new Intl.NumberFormat('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** The card values the dashboard shows for `t` (the API's totals), in English. */
function cards(t) {
  const pct = (v) => (v === null ? '–' : `${en.format(v)} %`);
  return {
    visitors: String(t.visitors),
    sessions: String(t.sessions),
    returning_share: pct(t.returning_share),
    bounce_rate: pct(t.bounce_rate),
    engagement_rate: pct(t.engagement_rate),
    avg_session_engaged_ms: t.avg_session_engaged_ms === null ? '–' : `${en.format(t.avg_session_engaged_ms / 1000)} s`,
    avg_session_span_ms: t.avg_session_span_ms === null ? '–' : `${en.format(t.avg_session_span_ms / 1000)} s`,
    nps: t.feedback.nps === null ? '–' : t.feedback.nps.toFixed(0),
  };
}

async function expectCards(page, t) {
  for (const [metric, text] of Object.entries(cards(t))) {
    await expect(page.locator(`[data-metric="${metric}"]`), metric).toHaveText(text);
  }
}

/** The label boxes of a chart, left to right. */
async function tickBoxes(page, chart) {
  return page.locator(`#${chart} text.tick`).evaluateAll((texts) => texts.map((t) => {
    const b = t.getBoundingClientRect();
    return { text: t.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom };
  }).sort((a, b) => a.left - b.left));
}

/** No two label boxes overlap (the axis labels and the value labels alike). */
function expectApart(boxes) {
  expect(boxes.length).toBeGreaterThanOrEqual(2);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      const overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      expect(overlap, `${a.text} | ${b.text}`).toBe(false);
    }
  }
}

/** Two campaigns and a direct visit today, with engagement, scroll and an NPS answer. */
function shop() {
  const news = { props: { utm_source: 'news' } };
  return [
    ev('page_view', today, 1, '/', news),
    { ...ev('page_engagement', today, 1, '/'), props: { engaged_ms: 14_000, scroll_max: 80 } },
    ev('page_view', today, 2, '/p/mug', { props: { utm_source: 'mail' }, returning: true }),
    { ...ev('feedback_submitted', today, 2, '/p/mug'), props: { type: 'nps', score: 9 }, returning: true },
    ev('page_view', today, 3, '/', news),
    { ...ev('add_to_cart', today, 3, '/'), props: { sku: 'mug' } },
    ev('page_view', today, 3, '/p/mug', { ...news, pageview_id: id(4, 99_003) }),
    ev('page_view', today, 4, '/'),
    { ...ev('feedback_submitted', today, 4, '/'), props: { type: 'nps', score: 3 } },
  ];
}

test('clicking a breakdown value filters every card and chart to the API numbers; the URL reproduces the view', async ({ page, collector, consoleLog }) => {
  await seed(collector, shop());
  const whole = await api(collector, 'stats');
  const news = await api(collector, 'stats?utm_source=news');
  expect([whole.total.visitors, news.total.visitors]).toEqual([4, 2]);
  expect(news.filters).toEqual([{ dimension: 'utm_source', value: 'news' }]);

  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(`${collector.url}/?site=demo&by=utm_source`);
  await loaded(page);
  await expectCards(page, whole.total);
  await expect(page.locator('#filters')).toHaveCount(0);

  // The row is a button: by keyboard as by mouse.
  const row = page.locator('#breakdown-rows tr[data-value="news"] button');
  await row.focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('#filters [data-filter="utm_source"]')).toContainText('news');
  expect(new URL(page.url()).searchParams.get('utm_source')).toBe('news');
  await expectCards(page, news.total);
  const charts = async () => ({
    visitors: await values(page, 'chart-visitors'),
    scroll: await values(page, 'chart-scroll'),
    rates: await values(page, 'chart-rates', 'circle'),
  });
  // The default range is 30 days: the trend and the rates are per day.
  const perDay = (s) => ({
    visitors: s.days.map((d) => d.visitors),
    scroll: s.total.scroll_reach,
    rates: [...s.days.map((d) => d.bounce_rate), ...s.days.map((d) => d.engagement_rate)].filter((v) => v !== null),
  });
  await expect.poll(charts).toEqual(perDay(news));
  // The breakdowns and prompts are of the segment too.
  const byPage = await api(collector, 'breakdown?dimension=page&utm_source=news');
  await page.selectOption('#breakdown', 'page');
  await expect.poll(() => page.locator('#breakdown-rows tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.value)))
    .toEqual(byPage.rows.map((r) => r.value));

  // A reload, or the URL opened elsewhere, gives the same view.
  await page.reload();
  await loaded(page);
  await expect(page.locator('#filters [data-filter="utm_source"]')).toContainText('news');
  await expectCards(page, news.total);
  await expect.poll(charts).toEqual(perDay(news));

  // A second filter narrows further; removing one chip leaves the other.
  await page.locator('#breakdown-rows tr[data-value="/p/mug"] button').click();
  const both = await api(collector, 'stats?page=%2Fp%2Fmug&utm_source=news');
  expect(both.total.visitors).toBe(1);
  await expectCards(page, both.total);
  await page.locator('#filters [data-filter="utm_source"] button').click();
  const mugs = await api(collector, 'stats?page=%2Fp%2Fmug');
  await expectCards(page, mugs.total);
  expect(new URL(page.url()).searchParams.get('utm_source')).toBeNull();
  await page.locator('#show-all').click();
  await expectCards(page, whole.total);
  await expect(page.locator('#filters')).toHaveCount(0);
  expect(consoleLog.pageErrors).toEqual([]);
});

test('labels never overlap at one day (by the hour), 30 days and a year; Arabic runs time right to left', async ({ page, collector }) => {
  const events = [];
  for (let d = today - 6; d <= today; d += 2) events.push(ev('page_view', d, 2000 + (d % 7)));
  // Today, by the hour: a visitor in each of the hours so far.
  const hoursSoFar = Math.floor((Date.now() - 60_000 - today * DAY) / 3_600_000);
  for (let h = 0; h <= hoursSoFar; h++) events.push({ ...ev('page_view', today, 3000 + h), ts: today * DAY + h * 3_600_000 + 1_000 });
  await seed(collector, events);

  await page.setViewportSize({ width: 1200, height: 900 });
  for (const [from, bars] of [[today, 24], [today - 29, 30], [today - 364, 365]]) {
    const s = await api(collector, `stats?from=${date(from)}&to=${date(today)}`);
    const series = bars === 24 ? s.hours : s.days;
    expect(series).toHaveLength(bars);
    for (const width of [1200, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${collector.url}/?site=demo&from=${date(from)}&to=${date(today)}`);
      await loaded(page);
      await expect.poll(() => values(page, 'chart-visitors')).toEqual(series.map((x) => x.visitors));
      for (const chart of ['chart-visitors', 'chart-rates']) {
        if (bars === 24 && chart === 'chart-rates') continue; // the rates chart is per day
        expectApart(await tickBoxes(page, chart));
      }
    }
  }
  // One day reads by the hour, as the language writes hours: the first, then the last.
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(`${collector.url}/?site=demo&from=${date(today)}&to=${date(today)}`);
  await loaded(page);
  const hours = await tickBoxes(page, 'chart-visitors');
  const hour = (h) => page.evaluate((ms) => new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' })
    .format(new Date(ms)), today * DAY + h * 3_600_000);
  expect(hours[0].text).toBe(await hour(0));
  expect(hours[hours.length - 1].text).toBe(await hour(23));

  // In Arabic the oldest bar is on the right, the newest on the left; labels still apart.
  await page.goto(`${collector.url}/?site=demo&from=${date(today - 29)}&to=${date(today)}&lang=ar`);
  await loaded(page);
  const xs = await page.locator('#chart-visitors rect').evaluateAll((rects) => rects.map((r) => r.getBoundingClientRect().left));
  expect(xs[0]).toBeGreaterThan(xs[xs.length - 1]);
  for (const chart of ['chart-visitors', 'chart-rates']) expectApart(await tickBoxes(page, chart));
  // The arrow keys follow the reader's direction: left is later.
  await page.locator('#chart-visitors').focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowLeft');
  const shown = await page.evaluate((d) => new Intl.DateTimeFormat('ar', { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' })
    .format(new Date(`${d}T00:00Z`)), date(today - 28));
  await expect(page.locator('.readout')).toContainText(shown);
});

test('axe-core finds no violations in English and Arabic; desktop and phone screenshots of both', async ({ page, collector }, testInfo) => {
  await seed(collector, shop());
  for (const lang of ['en', 'ar']) {
    for (const [layout, width, height] of [['desktop', 1280, 900], ['phone', 390, 844]]) {
      await page.setViewportSize({ width, height });
      await page.goto(`${collector.url}/?site=demo&lang=${lang}&utm_source=news`);
      await loaded(page);
      await expect(page.locator('html')).toHaveAttribute('lang', lang);
      expect(await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
      const path = testInfo.outputPath(`dashboard-${lang}-${layout}.png`);
      await page.screenshot({ path, fullPage: true });
      await testInfo.attach(`dashboard-${lang}-${layout}`, { path, contentType: 'image/png' });
    }
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] }))
      .violations.map((v) => `${v.id}: ${v.nodes.map((x) => x.target.join(' ')).slice(0, 3).join(', ')}`));
    expect(violations, lang).toEqual([]);
  }
});
