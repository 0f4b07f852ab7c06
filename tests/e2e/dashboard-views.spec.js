// The dashboard's views in Chromium against the real collector: languages and direction, the
// trend over any range, comparisons with the previous period, empty programs, and tables
// that stay readable, page and export CSV.
const fs = require('node:fs');
const { test, expect } = require('./fixtures');
const { USER_AGENT } = require('./browser');

const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY);
const date = (day) => new Date(day * DAY).toISOString().slice(0, 10);
// A moment of `day`: its noon, or for today a moment ago but never in its first 30 s (the
// collector refuses events from the future). The collector also refuses events more than 7
// days older than their batch, so tests seed only the last 7 days (`today - 6` to `today`),
// whose noons are within 6.5 days at any time of day.
const noon = (day) => Math.max(day * DAY + 30_000, Math.min(day * DAY + DAY / 2, Date.now() - 60_000));

let n = 0;
const id = (kind, k) => `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${k.toString(16).padStart(12, '0')}`;
/** A page view of `visitor` on `day` (days since the epoch). */
const view = (day, visitor, path = '/', extra = {}) => {
  n += 1;
  return {
    id: id(1, n), name: 'page_view', ts: noon(day) - n, visitor_id: id(2, visitor), session_id: id(3, visitor * 1000 + day % 1000),
    pageview_id: id(4, n), returning: false, url: `https://shop.example${path}`, props: {}, ...extra,
  };
};

async function seed(collector, events) {
  for (let at = 0; at < events.length; at += 500) {
    const res = await fetch(`${collector.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'user-agent': USER_AGENT },
      body: JSON.stringify({ site: 'demo', sent_at: Date.now(), events: events.slice(at, at + 500) }),
    });
    expect(res.status, await res.text()).toBe(200);
  }
}

async function stats(collector, from, to) {
  return (await fetch(`${collector.url}/v1/sites/demo/stats?from=${from}&to=${to}`)).json();
}

const loaded = (page) => expect(page.locator('body')).toHaveAttribute('data-loaded', /\d+/);
// Dates as the dashboard writes them in English: by Intl, in UTC as the API's days are.
const dayLabel = (d) => new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(new Date(`${d}T00:00Z`));
const longDate = (d) => new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${d}T00:00Z`));

test('Arabic and Hebrew lay the dashboard out right to left, Thai left to right; the language is in the URL', async ({ page, collector, consoleLog }) => {
  await seed(collector, [view(today, 1)]);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${collector.url}/?site=demo&lang=ar`);
  await loaded(page);
  const html = page.locator('html');
  await expect(html).toHaveAttribute('dir', 'rtl');
  await expect(html).toHaveAttribute('lang', 'ar');
  await expect(page.locator('.card', { has: page.locator('[data-metric="visitors"]') })).toContainText('الزوار');
  // Figures in the language's own digits, as the browser's Intl writes them.
  const one = await page.evaluate(() => new Intl.NumberFormat('ar').format(1));
  await expect(page.locator('[data-metric="visitors"]')).toHaveText(one);
  // Right to left: the first card sits at the right edge.
  const box = await page.locator('.card').first().boundingBox();
  expect(box.x + box.width).toBeGreaterThan(390 - 20);
  expect(await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);

  await page.selectOption('#lang', 'he');
  await expect(html).toHaveAttribute('dir', 'rtl');
  await expect(page.locator('h2', { hasText: 'הפניות ונאמנות' })).toBeVisible();
  await page.selectOption('#lang', 'th');
  await expect(html).toHaveAttribute('dir', 'ltr');
  await expect(html).toHaveAttribute('lang', 'th');
  await expect(page.locator('.card', { has: page.locator('[data-metric="visitors"]') })).toContainText('ผู้เยี่ยมชม');
  expect(new URL(page.url()).searchParams.get('lang')).toBe('th');
  // The URL is the view: opening it again gives the same language.
  await page.goto(page.url());
  await expect(html).toHaveAttribute('lang', 'th');
  expect(consoleLog.pageErrors).toEqual([]);
});

test('the trend over a year: any metric, exact values on hover and focus, date labels that never overlap', async ({ page, collector }) => {
  const from = today - 364;
  const events = [];
  // Every other day of the last week: the seeded days, not the clock, decide the indexes.
  const seeded = [today - 6, today - 4, today - 2, today];
  for (const d of seeded) {
    events.push(view(d, 1 + (d % 5)), view(d, 10 + (d % 3), '/p/mug'));
  }
  await seed(collector, events);
  const s = await stats(collector, date(from), date(today));
  expect(s.days).toHaveLength(365);
  expect(s.days.map((d, i) => (d.pageviews > 0 ? from + i : null)).filter((d) => d !== null)).toEqual(seeded);

  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(`${collector.url}/?site=demo&from=${date(from)}&to=${date(today)}`);
  await loaded(page);
  const values = (chart) => page.locator(`#${chart} rect`).evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('data-value'))));
  await expect.poll(() => values('chart-visitors')).toEqual(s.days.map((d) => d.visitors));

  // The labels: both ends, at most 11 in all, and no two boxes overlap.
  const ticks = await page.locator('#chart-visitors text.tick').evaluateAll((texts) =>
    texts.map((t) => { const b = t.getBoundingClientRect(); return { text: t.textContent, left: b.left, right: b.right }; }));
  expect(ticks.length).toBeGreaterThanOrEqual(2);
  expect(ticks.length).toBeLessThanOrEqual(11);
  expect(ticks[0].text).toBe(dayLabel(date(from)));
  expect(ticks[ticks.length - 1].text).toBe(dayLabel(date(today)));
  for (let i = 1; i < ticks.length; i++) expect(ticks[i].left).toBeGreaterThan(ticks[i - 1].right);

  await page.selectOption('#trend-metric', 'pageviews');
  await expect.poll(() => values('chart-pageviews')).toEqual(s.days.map((d) => d.pageviews));
  // Hover a day with data: its exact value; keyboard focus does the same.
  const busy = s.days.findIndex((d) => d.pageviews > 0);
  await page.locator('#chart-pageviews rect').nth(busy).hover();
  await expect(page.locator('.readout')).toContainText(`${longDate(s.days[busy].date)}: ${s.days[busy].pageviews}`);
  // From the keyboard: one tab stop, then Home, End and the arrow keys move between days.
  await page.mouse.move(0, 0);
  await page.locator('#chart-pageviews').focus();
  await page.keyboard.press('End');
  await expect(page.locator('.readout')).toContainText(`${longDate(s.days[364].date)}: ${s.days[364].pageviews}`);
  await page.keyboard.press('Home');
  const next = seeded[1] - from;
  for (let i = 0; i < next; i++) await page.keyboard.press('ArrowRight');
  await expect(page.locator('.readout')).toContainText(`${longDate(s.days[next].date)}: ${s.days[next].pageviews}`);
  expect(await page.locator('#chart-pageviews rect[tabindex]').count()).toBe(0);

  await page.selectOption('#trend-metric', 'bounce_rate');
  await expect.poll(() => values('chart-bounce_rate')).toEqual(s.days.map((d) => d.bounce_rate ?? 0));
});

test('headline cards show the change against the previous period of the same length', async ({ page, collector }) => {
  // Two days now, the two days before them: 2 visitors then 3.
  await seed(collector, [
    view(today - 3, 1), view(today - 2, 2),
    view(today - 1, 3), view(today, 4), view(today, 5),
  ]);
  const now = await stats(collector, date(today - 1), date(today));
  const before = await stats(collector, date(today - 3), date(today - 2));
  expect([before.total.visitors, now.total.visitors]).toEqual([2, 3]);

  await page.goto(`${collector.url}/?site=demo&from=${date(today - 1)}&to=${date(today)}`);
  await loaded(page);
  const card = page.locator('.card', { has: page.locator('[data-metric="visitors"]') });
  const expected = `+${((now.total.visitors - before.total.visitors) / before.total.visitors * 100).toFixed(0)} %`;
  await expect(card.locator('.delta')).toHaveText(expected);
  await expect(card.locator('.delta')).toHaveClass(/good/);
  // The trend draws the previous period behind the current one, and drops it on request.
  await expect(page.locator('#chart-visitors polyline.previous')).toHaveCount(1);
  await page.locator('.compare input').uncheck();
  await expect(page.locator('#chart-visitors polyline.previous')).toHaveCount(0);
  await expect(card.locator('.delta')).toHaveCount(0);
  // The choice is part of the view's URL.
  expect(new URL(page.url()).searchParams.get('compare')).toBe('off');
  await page.reload();
  await loaded(page);
  await expect(page.locator('.compare input')).not.toBeChecked();
  await expect(page.locator('#chart-visitors polyline.previous')).toHaveCount(0);
});

test('empty programs and feedback say what to do; the events table stays on one line, pages and exports CSV', async ({ page, collector }, testInfo) => {
  const long = `/collections/summer/${'very-long-segment-'.repeat(12)}end?utm_source=news`;
  const events = [];
  // Stamped a second apart, the long URL the newest.
  const base = Date.now() - 60_000;
  for (let i = 0; i < 12; i++) events.push(view(today, 100 + i, i === 0 ? long : `/p/${i}`, { ts: base - i * 1_000 }));
  await seed(collector, events);

  await page.setViewportSize({ width: 1000, height: 900 });
  await page.goto(`${collector.url}/?site=demo`);
  await loaded(page);
  await expect(page.locator('#chart-nps')).toHaveCount(0);
  await expect(page.locator('figure', { hasText: 'NPS answers by score' }).locator('.empty')).toContainText('NPS prompt');
  await expect(page.locator('#chart-funnel')).toHaveCount(0);
  await expect(page.locator('figure', { hasText: 'Referral funnel' }).locator('.empty')).toContainText('[site.referral]');
  await expect(page.locator('figure', { hasText: 'Points issued' }).locator('.empty')).toContainText('[site.loyalty]');

  // The long URL (the newest event): one line, cut, with the whole URL in its title.
  const url = `https://shop.example${long}`;
  const cell = page.locator('#events td.url').first();
  await expect(cell).toHaveAttribute('title', url);
  const shape = await cell.evaluate((td) => {
    const range = document.createRange();
    range.selectNodeContents(td);
    return { cut: td.scrollWidth > td.clientWidth, lines: new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size };
  });
  expect(shape).toEqual({ cut: true, lines: 1 });
  expect(await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);

  // Ten events to a page, newest first.
  const rows = page.locator('#events tr');
  await expect(rows).toHaveCount(10);
  await page.getByRole('button', { name: 'Older' }).click();
  await expect(rows).toHaveCount(2);
  await expect(page.locator('.pager span')).toHaveText('2 / 2');
  await expect(page.getByRole('button', { name: 'Older' })).toBeDisabled();
  await expect(page.locator('#events td.url').last()).toHaveAttribute('title', 'https://shop.example/p/11');

  // CSV: a header and one line per event.
  const download = page.waitForEvent('download');
  await page.locator('.section-head', { hasText: 'Recent events' }).getByRole('button', { name: 'Export CSV' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('recent-events.csv');
  const saved = testInfo.outputPath('recent-events.csv');
  await file.saveAs(saved);
  const lines = fs.readFileSync(saved, 'utf8').trim().split('\r\n');
  expect(lines[0]).toBe('received_at,ts,name,url,referrer,visitor_id,session_id,returning,props');
  expect(lines).toHaveLength(13);
  expect(lines.filter((l) => l.includes(url))).toHaveLength(1);
});

test('the live count of the last 5 minutes updates by itself', async ({ page, collector }) => {
  await seed(collector, [view(today, 501)]);
  await page.goto(`${collector.url}/?site=demo`);
  await loaded(page);
  const live = page.locator('[data-live="visitors"]');
  await expect(live).toHaveText('1');
  const api = await (await fetch(`${collector.url}/v1/sites/demo/live`)).json();
  expect(api.visitors).toBe(1);
  // Two more visitors arrive; the page shows them without a reload.
  await seed(collector, [view(today, 502), view(today, 503)]);
  await expect(live).toHaveText('3', { timeout: 8_000 });
});

test('the latest answers show what shoppers wrote, as text, and NPS has its own trend', async ({ page, collector }) => {
  const fb = (visitor, ago, props) => ({ ...view(today, visitor), name: 'feedback_submitted', ts: Date.now() - ago, props });
  const XSS = '<img src=x onerror="window.__xss=1">';
  await seed(collector, [
    fb(701, 30_000, { prompt_id: 'nps-main', variant: 'warm', type: 'nps', score: 10, text: 'ส่งของเร็วมาก ขอบคุณครับ' }),
    fb(702, 20_000, { prompt_id: 'nps-main', variant: 'default', type: 'nps', score: 3, text: XSS }),
    fb(703, 10_000, { prompt_id: 'csat', type: 'csat', score: 4 }),
  ]);
  await page.goto(`${collector.url}/?site=demo`);
  await loaded(page);
  const rows = page.locator('#answers tr');
  await expect(rows).toHaveCount(3);
  // Newest first: the CSAT answer without text, then the two NPS answers.
  await expect(rows.nth(0).locator('td').nth(1)).toHaveText('csat');
  await expect(rows.nth(0).locator('td.answer')).toHaveText('–');
  await expect(rows.nth(1).locator('td.answer')).toHaveText(XSS);
  await expect(rows.nth(2).locator('td').nth(1)).toHaveText('nps-main (warm)');
  await expect(rows.nth(2).locator('td.num')).toHaveText('10');
  await expect(rows.nth(2).locator('td.answer')).toHaveText('ส่งของเร็วมาก ขอบคุณครับ');
  expect(await page.evaluate(() => window.__xss)).toBeUndefined();

  const s = await (await fetch(`${collector.url}/v1/sites/demo/stats`)).json();
  expect(s.total.feedback.nps).toBe(0);
  await page.selectOption('#trend-metric', 'nps_over_time');
  const values = await page.locator('#chart-nps_over_time rect').evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('data-value'))));
  expect(values).toEqual(s.days.map((d) => d.feedback.nps ?? 0));
});

test('breakdowns: every dimension from the API, picked in the URL, as the owner reads it', async ({ page, collector }) => {
  await seed(collector, [
    view(today, 801, '/', { referrer: 'https://www.google.com/search', props: { utm_source: 'news' } }),
    view(today, 801, '/p/mug'),
    view(today, 802, '/p/mug', { returning: true }),
  ]);
  await page.goto(`${collector.url}/?site=demo`);
  await loaded(page);
  const rows = (dimension) => page.locator('#breakdown-rows tr').evaluateAll((trs) => trs.map((tr) =>
    [tr.getAttribute('data-value'), ...[...tr.querySelectorAll('td.num')].map((td) => Number(td.textContent))]));
  for (const dimension of ['page', 'entry_page', 'referrer', 'utm_source', 'visitor_type', 'device']) {
    await page.selectOption('#breakdown', dimension);
    const api = await (await fetch(`${collector.url}/v1/sites/demo/breakdown?dimension=${dimension}`)).json();
    expect(api.rows.length).toBeGreaterThan(0);
    await expect.poll(() => rows(dimension)).toEqual(api.rows.map((r) => [r.value, r.visitors, r.pageviews]));
    expect(new URL(page.url()).searchParams.get('by')).toBe(dimension);
  }
  // The last one, read as an owner would: the device class, and "(none)" for no campaign.
  await expect(page.locator('#breakdown-rows tr[data-value="desktop"] td.url')).toHaveText('desktop');
  await page.goto(`${collector.url}/?site=demo&by=utm_source&lang=ar`);
  await loaded(page);
  await expect(page.locator('#breakdown')).toHaveValue('utm_source');
  await expect(page.locator('#breakdown-rows tr[data-value=""] td.url')).toHaveText('(لا شيء)');
  await expect(page.locator('#breakdown-rows tr[data-value="news"] td.url')).toHaveText('news');
});

test('prompts: each A/B variant against the first, with its interval said plainly', async ({ page, collector }, testInfo) => {
  const ev = (name, visitor, variant, extra = {}) => ({ ...view(today, visitor), name, ts: Date.now() - 5_000 - visitor,
    props: { prompt_id: 'nps-main', variant, type: 'nps', ...extra } });
  const events = [];
  for (let v = 1; v <= 4; v++) events.push(ev('prompt_shown', 900 + v, 'a'));
  events.push(ev('feedback_submitted', 901, 'a', { score: 10 }), ev('prompt_dismissed', 902, 'a'));
  for (let v = 5; v <= 6; v++) events.push(ev('prompt_shown', 900 + v, 'b'), ev('feedback_submitted', 900 + v, 'b', { score: 9 }));
  await seed(collector, events);
  const api = await (await fetch(`${collector.url}/v1/sites/demo/prompts`)).json();
  const [a, b] = api.prompts[0].variants;
  expect([a.shown, a.answered, b.shown, b.answered]).toEqual([4, 1, 2, 2]);

  await page.goto(`${collector.url}/?site=demo`);
  await loaded(page);
  const table = page.locator('table[data-prompt="nps-main"]');
  await expect(table.locator('caption')).toHaveText('nps-main (nps)');
  const cell = (variant, measure) => table.locator(`tr[data-variant="${variant}"] td[data-measure="${measure}"]`);
  await expect(table.locator('tr[data-variant="a"] td').first()).toHaveText('a (first)');
  await expect(cell('a', 'shown')).toHaveText('4');
  await expect(cell('a', 'dismissed')).toHaveText('1');
  expect(await cell('b', 'response_rate').evaluate((td) => td.firstChild.textContent)).toBe(`${b.response_rate.toFixed(1)} %`);
  const verdict = b.versus_first.response_rate.excludes_zero
    ? (b.versus_first.response_rate.difference > 0 ? 'higher than the first' : 'lower than the first')
    : 'not yet distinguishable';
  await expect(cell('b', 'response_rate').locator('.verdict')).toHaveText(verdict);
  // One score each side: too few for an interval on the mean.
  expect(b.versus_first.mean_score).toBeNull();
  await expect(cell('b', 'mean_score').locator('.interval')).toHaveText('too few to compare');
  // How the answers spread: the NPS groups and each score's count, as the API counts them.
  await expect(cell('a', 'answers').locator('.groups')).toHaveText(`Promoters ${a.promoters} · Passives ${a.passives} · Detractors ${a.detractors}`);
  expect(await cell('b', 'answers').locator('li').evaluateAll((lis) => lis.map((li) => [li.dataset.answer, Number(li.querySelector('b').textContent)])))
    .toEqual(b.answers.map((x) => [x.answer, x.count]));
  expect(b.answers).toEqual([{ answer: '9', count: 2 }]);

  // The interval on the response rate, from the seeded counts: a answered 1 of 4 showings,
  // b 2 of 2; the difference of two proportions ± 1.96 standard errors, within ±100 points.
  const [pa, pb] = [1 / 4, 2 / 2];
  const diff = (pb - pa) * 100;
  const half = 1.959964 * Math.sqrt((pa * (1 - pa)) / 4 + (pb * (1 - pb)) / 2) * 100;
  const [low, high] = [Math.max(diff - half, -100), Math.min(diff + half, 100)];
  const r = b.versus_first.response_rate;
  expect([r.difference, r.low, r.high].map((v) => v.toFixed(2))).toEqual([diff, low, high].map((v) => v.toFixed(2)));
  const pts = (v) => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(1)} pts`;
  await expect(cell('b', 'response_rate').locator('.interval')).toHaveText(`${pts(diff)} (${pts(low)} … ${pts(high)})`);

  // The prompts export as CSV, one line per variant.
  const download = page.waitForEvent('download');
  await page.locator('#prompts-csv').click();
  const saved = testInfo.outputPath('prompts.csv');
  await (await download).saveAs(saved);
  const lines = fs.readFileSync(saved, 'utf8').trim().split('\r\n');
  expect(lines[0]).toBe('prompt_id,kind,variant,shown,dismissed,answered,response_rate,mean_score,promoters,passives,detractors,answers');
  expect(lines.slice(1)).toEqual([
    `nps-main,nps,a,4,1,1,${a.response_rate},${a.mean_score},${a.promoters},${a.passives},${a.detractors},10=1`,
    `nps-main,nps,b,2,0,2,${b.response_rate},${b.mean_score},${b.promoters},${b.passives},${b.detractors},9=2`,
  ]);
});
