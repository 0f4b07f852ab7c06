// Feedback prompts in Chromium against the real collector: triggers, the frequency budget,
// keyboard use, axe-core, right-to-left and Thai layout, isolation from hostile host CSS,
// text never parsed as HTML, and answers stored by the collector.
const path = require('node:path');
const { chromium } = require('@playwright/test');
const { test, expect, servePage, axe } = require('./fixtures');
const { USER_AGENT, WITHOUT_LOCAL_NETWORK_CHECKS, ownBrowser } = require('./browser');

const named = (events, name) => events.filter((e) => e.name === name);
const QUESTION = {
  en: 'How likely are you to recommend us to a friend?',
  ar: 'ما مدى احتمال أن توصي بنا صديقًا؟',
  he: 'עד כמה סביר שתמליצו עלינו לחברים?',
  th: 'คุณมีแนวโน้มจะแนะนำเราให้เพื่อนมากน้อยแค่ไหน',
};
const CHOICES = [{ en: 'Price', ar: 'السعر', he: 'מחיר', th: 'ราคา' }, { en: 'Delivery', ar: 'التوصيل', he: 'משלוח', th: 'การจัดส่ง' }];

/** A prompt due at once unless `over` says otherwise. */
const prompt = (over = {}) => ({
  id: 'p1', type: 'nps', display: 'modal', question: QUESTION, trigger: { engaged_seconds: 0 },
  ...(over.type === 'choice' ? { choices: CHOICES } : {}), ...over,
});

/** A tracked page on the collector's origin whose script tag carries `config` inline. */
function promptPage(config, { body = '', attrs = '', head = '', lang = 'en' } = {}) {
  const inline = JSON.stringify(config).replace(/&/g, '&amp;').replace(/'/g, '&#39;');
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>Shop</title>${head}
    <script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="100"
      data-config='${inline}' ${attrs}></script></head>
    <body><main><h1>Shop</h1><button id="before">Before</button>${body}</main></body></html>`;
}

async function open(page, collector, config, options, url = '/shop/p.html') {
  await servePage(page, `${collector.url}${url}`, promptPage(config, options));
  await page.goto(`${collector.url}${url}`);
}

const card = (page) => page.locator('rapport-ui .card');
/** Resolves once the UI stage is instantiated on this page and has looked at the triggers
 * once more (they are looked at every second), so an absent card means a trigger held back. */
async function stageWatching(page) {
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/rapport_ui_bg.wasm')));
  await page.waitForTimeout(1200);
}
const box = (locator) => locator.evaluate((el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });


test('a scroll-depth trigger shows the prompt at 60 % and not before', async ({ page, collector }) => {
  await open(page, collector, { prompts: [prompt({ display: 'popover', type: 'thumbs', trigger: { scroll_percent: 60 } })] },
    { body: '<div style="height:5000px"></div>' });
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  await stageWatching(page);
  await expect(card(page)).toHaveCount(0);
  await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight * 0.6 - innerHeight + 10));
  await expect(card(page)).toBeVisible();
  const all = await collector.waitFor((events) => named(events, 'prompt_shown').length === 1);
  expect(named(all, 'prompt_shown')[0].props).toMatchObject({ prompt_id: 'p1', type: 'thumbs', display: 'popover', variant: 'default', locale: 'en' });
  expect(Math.max(...named(all, 'scroll_milestone').map((e) => e.props.depth))).toBeGreaterThanOrEqual(50);
});

test('an engaged-time trigger waits for engaged seconds, then the answer is stored', async ({ page, collector }) => {
  await open(page, collector, { prompts: [prompt({ display: 'popover', type: 'thumbs', trigger: { engaged_seconds: 2 } })] });
  await collector.waitFor((all) => named(all, 'page_view').length === 1); // the tracker listens
  await page.mouse.click(5, 300);
  const start = Date.now();
  await expect(card(page)).toBeVisible({ timeout: 8000 });
  expect(Date.now() - start).toBeGreaterThanOrEqual(1500);
  await card(page).getByRole('button', { name: 'Yes' }).click();
  await expect(card(page).locator('.q')).toHaveText('Thank you for your feedback!');
  await expect(card(page).locator('.q')).toHaveAttribute('aria-live', 'polite');
  const all = await collector.waitFor((events) => named(events, 'feedback_submitted').length === 1);
  const answer = named(all, 'feedback_submitted')[0];
  expect(answer.props).toMatchObject({ prompt_id: 'p1', type: 'thumbs', score: 1, variant: 'default' });
  // The thank-you closes itself.
  await expect(card(page)).toHaveCount(0, { timeout: 5000 });
});

test('exit intent: the pointer leaving through the top of the viewport shows the prompt', async ({ page, collector }) => {
  await open(page, collector, { prompts: [prompt({ display: 'modal', type: 'csat', trigger: { exit_intent: true } })] });
  await page.mouse.move(400, 300);
  await stageWatching(page);
  await expect(card(page)).toHaveCount(0);
  // Leaving through the side is not exit intent.
  await page.mouse.move(-5, 300, { steps: 4 });
  await page.waitForTimeout(300);
  await expect(card(page)).toHaveCount(0);
  await page.mouse.move(400, 300);
  await page.mouse.move(400, -5, { steps: 4 });
  await expect(card(page)).toBeVisible();
});

test('a custom event with a delay triggers the prompt only after the delay', async ({ page, collector }) => {
  await open(page, collector, { prompts: [prompt({ display: 'popover', type: 'text', trigger: { event: 'purchase', delay_seconds: 1 } })] });
  await stageWatching(page);
  await expect(card(page)).toHaveCount(0);
  const at = Date.now();
  await page.evaluate(() => rapport.track('purchase', { total: 30 }));
  await expect(card(page)).toBeVisible({ timeout: 5000 });
  expect(Date.now() - at).toBeGreaterThanOrEqual(900);
  await card(page).locator('textarea').fill('Fast checkout, thanks');
  await card(page).getByRole('button', { name: 'Send' }).click();
  const all = await collector.waitFor((events) => named(events, 'feedback_submitted').length === 1);
  expect(named(all, 'feedback_submitted')[0].props).toMatchObject({ type: 'text', text: 'Fast checkout, thanks' });
});

test('the frequency budget: one prompt per session, and a dismissal counts as shown', async ({ page, collector }) => {
  const config = {
    prompts: [
      prompt({ id: 'first', display: 'popover', type: 'thumbs' }),
      prompt({ id: 'second', display: 'popover', type: 'csat' }),
    ],
  };
  await open(page, collector, config);
  await expect(card(page)).toHaveCount(1);
  await card(page).getByRole('button', { name: 'Close' }).click();
  await expect(card(page)).toHaveCount(0);
  let all = await collector.waitFor((events) => named(events, 'prompt_dismissed').length === 1);
  expect(named(all, 'prompt_shown').map((e) => e.props.prompt_id)).toEqual(['first']);
  expect(named(all, 'prompt_dismissed')[0].props.prompt_id).toBe('first');
  // The other prompt is due too, but not in this session; nor after a reload.
  await page.waitForTimeout(1200);
  await expect(card(page)).toHaveCount(0);
  await page.reload();
  await collector.waitFor((events) => named(events, 'page_view').length === 2);
  await stageWatching(page);
  await expect(card(page)).toHaveCount(0);
  all = await collector.events();
  expect(named(all, 'prompt_shown')).toHaveLength(1);
  // The budget's record lives under the rapport: prefix.
  const budget = await page.evaluate(() => JSON.parse(localStorage.getItem('rapport:budget')));
  expect(budget.t).toBeGreaterThan(0);
});

test('keyboard only: NPS with a follow-up, focus trapped in the modal and returned on close', async ({ page, collector }) => {
  const followUp = { promoter: { en: 'What do you love most?' }, detractor: { en: 'What should we do better?' } };
  await open(page, collector, { prompts: [prompt({ follow_up: followUp, trigger: { event: 'ready' } })] });
  await page.focus('#before');
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  await page.evaluate(() => rapport.track('ready'));
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog).toHaveAttribute('aria-modal', 'true');
  await expect(dialog).toHaveAccessibleName(QUESTION.en);
  // Focus moved in, onto the scale's tab stop.
  const radios = page.getByRole('radio');
  await expect(radios).toHaveCount(11);
  await expect(page.getByRole('radiogroup')).toBeVisible();
  await expect(radios.nth(0)).toBeFocused();
  for (let i = 0; i < 9; i++) await page.keyboard.press('ArrowRight');
  await expect(radios.nth(9)).toBeFocused();
  await expect(radios.nth(9)).toHaveAttribute('aria-checked', 'true');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowRight');
  // Tab goes to Send; Tab again wraps to the close button, not out of the dialog.
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Send' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Close' })).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await expect(page.getByRole('button', { name: 'Send' })).toBeFocused();
  await page.keyboard.press('Enter');
  // The promoter's follow-up.
  await expect(dialog).toHaveAccessibleName('What do you love most?');
  await expect(page.locator('rapport-ui textarea')).toBeFocused();
  await page.keyboard.type('The <b>packaging</b>');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Send' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(dialog).toHaveAccessibleName('Thank you for your feedback!');
  await expect(page.getByRole('button', { name: 'Close' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(page.locator('#before')).toBeFocused();
  const all = await collector.waitFor((events) => named(events, 'feedback_submitted').length === 1);
  expect(named(all, 'feedback_submitted')[0].props).toMatchObject({ prompt_id: 'p1', type: 'nps', score: 9, text: 'The <b>packaging</b>', locale: 'en' });
  expect(named(all, 'prompt_dismissed')).toHaveLength(0);
});

test('keyboard only: CSAT by arrow keys; Escape dismisses before an answer', async ({ page, collector }) => {
  await open(page, collector, { prompts: [prompt({ type: 'csat' })] });
  const radios = page.getByRole('radio');
  await expect(radios).toHaveCount(5);
  await expect(radios.nth(3)).toHaveAccessibleName('4, Satisfied'); // the visible number leads
  await expect(radios.nth(0)).toBeFocused();
  await page.keyboard.press('End');
  await expect(radios.nth(4)).toHaveAttribute('aria-checked', 'true');
  await page.keyboard.press('ArrowUp');
  await expect(radios.nth(3)).toHaveAttribute('aria-checked', 'true');
  await expect(radios.nth(4)).toHaveAttribute('aria-checked', 'false');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  let all = await collector.waitFor((events) => named(events, 'feedback_submitted').length === 1);
  expect(named(all, 'feedback_submitted')[0].props).toMatchObject({ type: 'csat', score: 4 });
  await expect(card(page)).toHaveCount(0, { timeout: 5000 });
  // A second page with an unanswered CSAT, dismissed by Escape.
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await expect(card(page)).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(card(page)).toHaveCount(0);
  all = await collector.waitFor((events) => named(events, 'prompt_dismissed').length === 1);
  expect(named(all, 'feedback_submitted')).toHaveLength(1);
});

for (const type of ['nps', 'csat', 'thumbs', 'text', 'choice']) {
  test(`axe-core finds no violations in a ${type} prompt`, async ({ page, collector }) => {
    await open(page, collector, { prompts: [prompt({ type, display: 'popover' })] });
    await expect(card(page)).toBeVisible();
    expect(await axe(page)).toEqual([]);
  });
}

for (const display of ['modal', 'popover', 'tab', 'inline']) {
  test(`axe-core finds no violations in the ${display} display`, async ({ page, collector }) => {
    const extra = display === 'inline' ? { selector: '#slot' } : {};
    await open(page, collector, { prompts: [prompt({ type: 'choice', display, ...extra })] }, { body: '<section id="slot"></section>' });
    if (display === 'tab') {
      const tab = page.getByRole('button', { name: 'Feedback' });
      await expect(tab).toBeVisible();
      expect(await axe(page)).toEqual([]);
      await tab.click();
      await expect(card(page).getByRole('radio').first()).toBeFocused();
    }
    await expect(card(page)).toBeVisible();
    if (display === 'inline') {
      const inSlot = await page.evaluate(() => document.querySelector('#slot rapport-ui') !== null);
      expect(inSlot).toBe(true);
    }
    expect(await axe(page)).toEqual([]);
  });
}

for (const [lang, close, send] of [['ar', 'إغلاق', 'إرسال'], ['he', 'סגירה', 'שליחה']]) {
  test(`${lang}: right-to-left layout is mirrored`, async ({ page, collector }, testInfo) => {
    await page.setViewportSize({ width: 1000, height: 700 });
    await open(page, collector, { prompts: [prompt({ type: 'nps', display: 'popover' })] }, { attrs: `data-locale="${lang}"`, lang });
    const c = card(page);
    await expect(c).toBeVisible();
    await expect(c.locator('.q')).toHaveText(QUESTION[lang]);
    expect(await c.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    const cardBox = await box(c);
    const closeBox = await box(c.getByRole('button', { name: close }));
    // The popover sits in the bottom-left corner; the close button at the card's left edge.
    expect(cardBox.x).toBeLessThan(40);
    expect(cardBox.x + cardBox.w).toBeLessThan(500);
    expect(closeBox.x - cardBox.x).toBeLessThan(20);
    // The scale runs right to left: 0 on the right.
    const zero = await box(c.getByRole('radio', { name: '0', exact: true }));
    const ten = await box(c.getByRole('radio', { name: '10' }));
    expect(zero.x).toBeGreaterThan(ten.x);
    // ArrowLeft moves towards 10, as it does visually.
    await c.getByRole('radio', { name: '0', exact: true }).focus();
    await page.keyboard.press('ArrowLeft');
    await expect(c.getByRole('radio', { name: '1', exact: true })).toHaveAttribute('aria-checked', 'true');
    await expect(c.getByRole('button', { name: send })).toBeVisible();
    await testInfo.attach(`prompt-${lang}.png`, { body: await page.screenshot(), contentType: 'image/png' });
  });
}

test('th: Thai text renders without clipping', async ({ page, collector }) => {
  await open(page, collector, { prompts: [prompt({ type: 'csat', display: 'popover' })] }, { attrs: 'data-locale="th"', lang: 'th' });
  const c = card(page);
  await expect(c.locator('.q')).toHaveText(QUESTION.th);
  await expect(c.getByRole('button', { name: 'ส่ง' })).toBeVisible();
  const clipped = await c.evaluate((el) => [...el.querySelectorAll('p, span, button')]
    .filter((n) => n.scrollHeight > n.clientHeight + 1 || n.scrollWidth > n.clientWidth + 1)
    .map((n) => n.textContent));
  expect(clipped).toEqual([]);
  const lineHeight = await c.locator('.q').evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) / parseFloat(getComputedStyle(el).fontSize));
  expect(lineHeight).toBeGreaterThanOrEqual(1.7);
});

test('hostile host CSS changes neither the size nor the computed styles of a prompt', async ({ page, collector }) => {
  const config = { prompts: [prompt({ type: 'nps', display: 'popover' })] };
  const measure = async () => {
    const c = card(page);
    await expect(c).toBeVisible();
    await page.waitForTimeout(300); // the entrance animation is over
    return c.evaluate((el) => {
      const pick = (n) => { const s = getComputedStyle(n); return [s.fontSize, s.fontFamily, s.lineHeight, s.color, s.backgroundColor, s.padding, s.display, s.position]; };
      const r = el.getBoundingClientRect();
      return { size: [r.width, r.height], card: pick(el), parts: [...el.querySelectorAll('p, button, div')].map(pick) };
    });
  };
  await open(page, collector, config, {}, '/clean/p.html');
  const clean = await measure();
  const hostile = '<style>* { all: unset !important; font-size: 2px !important } html { font-size: 4px } div { display: none !important } button { color: red !important }</style>';
  await page.evaluate(() => localStorage.clear());
  await open(page, collector, config, { head: hostile }, '/hostile/p.html');
  const after = await measure();
  expect(after).toEqual(clean);
  expect(clean.card[0]).toBe('15px');
});

test('prompt texts are shown as text: markup in them is never parsed or run', async ({ page, collector }) => {
  const evil = '<img src=x onerror="window.__pwned=1">Rate us';
  await open(page, collector, { prompts: [prompt({ type: 'choice', display: 'popover', question: { en: evil }, choices: [{ en: '<b>bold</b>' }, { en: 'plain' }] })] });
  const c = card(page);
  await expect(c.locator('.q')).toHaveText(evil);
  await expect(c.getByRole('radio', { name: '<b>bold</b>' })).toBeVisible();
  expect(await c.locator('img, b').count()).toBe(0);
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
});

test('a page without unsafe-inline styles in its CSP still styles the prompt', async ({ page, collector, consoleLog }) => {
  const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'">`;
  await open(page, collector, { prompts: [prompt({ type: 'thumbs', display: 'modal' })] }, { head: csp });
  const c = card(page);
  await expect(c).toBeVisible();
  expect(await c.evaluate((el) => [getComputedStyle(el).position, getComputedStyle(el).backgroundColor])).toEqual(['fixed', 'rgb(255, 255, 255)']);
  expect(consoleLog.pageErrors).toEqual([]);
});

test('under 480 px wide a popover is a bottom sheet; reduced motion turns animation off', async ({ page, collector }) => {
  await page.setViewportSize({ width: 400, height: 700 });
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await open(page, collector, { prompts: [prompt({ type: 'thumbs', display: 'popover' })] });
  const c = card(page);
  await expect(c).toBeVisible();
  const b = await box(c);
  expect(b.x).toBe(0);
  expect(b.w).toBe(400);
  expect(b.y + b.h).toBe(700);
  expect(await c.evaluate((el) => getComputedStyle(el).animationName)).toBe('none');
  await page.emulateMedia({ reducedMotion: 'no-preference' });
  expect(await c.evaluate((el) => getComputedStyle(el).animationName)).not.toBe('none');
});

test('A/B variants: the wording is stable per visitor and every prompt event carries it', async ({ page, collector }) => {
  const variants = [{ id: 'warm', question: { en: 'Enjoying the shop?' } }, { id: 'plain', question: { en: 'Rate the shop' } }];
  await open(page, collector, { prompts: [prompt({ type: 'thumbs', display: 'popover', variants })] });
  const c = card(page);
  const text = await c.locator('.q').textContent();
  await c.getByRole('button', { name: 'Close' }).click();
  const all = await collector.waitFor((events) => named(events, 'prompt_dismissed').length === 1);
  const variant = named(all, 'prompt_shown')[0].props.variant;
  expect(variants.find((v) => v.id === variant).question.en).toBe(text);
  // The assignment is the core's: FNV-1a over the prompt id, a zero byte and the visitor id.
  const fnv = (s) => [...Buffer.from(s)].reduce((h, b) => Math.imul(h ^ b, 0x01000193) >>> 0, 0x811c9dc5);
  const visitor = named(all, 'prompt_shown')[0].visitor_id;
  expect(variant).toBe(variants[fnv(`p1\u0000${visitor}`) % variants.length].id);
  expect(named(all, 'prompt_dismissed')[0].props.variant).toBe(variant);
  // A new session of the same visitor sees the same wording.
  await page.evaluate(() => { const v = JSON.parse(localStorage.getItem('rapport:visit')); localStorage.clear(); localStorage.setItem('rapport:visit', JSON.stringify({ v: v.v, s: 'x', c: '', n: [v.n[0], v.n[1], 1, 1, 1, 0, 0] })); });
  await page.reload();
  await expect(c.locator('.q')).toHaveText(text);
});

test('a bad inline config field gets one console error naming it; the valid prompt still shows', async ({ page, collector, consoleLog }) => {
  await open(page, collector, {
    prompts: [
      prompt({ id: 'broken', trigger: { scroll_percent: 150 } }),
      prompt({ id: 'fine', type: 'thumbs', display: 'popover' }),
    ],
  });
  await expect(card(page)).toBeVisible();
  const errors = consoleLog.rapport().filter((m) => m.type === 'error');
  expect(errors).toHaveLength(1);
  expect(errors[0].text).toContain('prompts[0].trigger.scroll_percent');
  await collector.waitFor((events) => named(events, 'prompt_shown').some((e) => e.props.prompt_id === 'fine'));
  expect(consoleLog.pageErrors).toEqual([]);
});

test.describe('prompts from the collector config', () => {
  test.use({
    siteConfig: `
[[site.prompt]]
id = "served"
type = "csat"
display = "popover"
question = { en = "How was your visit?", ar = "كيف كانت زيارتك؟" }
trigger = { pageviews_at_least = 2, url_exclude = ["/shop/checkout*"] }
`,
  });

  test('the served config is fetched, its pageview and URL rules hold, and the answer is stored', async ({ page, collector }) => {
    const plain = (body) => `<!doctype html><meta charset="utf-8"><title>t</title>
      <script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="100"></script>${body}`;
    await servePage(page, `${collector.url}/shop/a.html`, plain('<a href="/shop/checkout.html">checkout</a>'));
    await servePage(page, `${collector.url}/shop/checkout.html`, plain('<a href="/shop/b.html">next</a>'));
    await servePage(page, `${collector.url}/shop/b.html`, plain('b'));
    await page.goto(`${collector.url}/shop/a.html`);
    await stageWatching(page);
    await expect(card(page)).toHaveCount(0); // one pageview
    await page.goto(`${collector.url}/shop/checkout.html`);
    await stageWatching(page);
    await expect(card(page)).toHaveCount(0); // excluded path
    await page.goto(`${collector.url}/shop/b.html`);
    await expect(card(page)).toBeVisible();
    await card(page).getByRole('radio', { name: 'Very satisfied' }).click();
    await card(page).getByRole('button', { name: 'Send' }).click();
    const all = await collector.waitFor((events) => named(events, 'feedback_submitted').length === 1);
    expect(named(all, 'feedback_submitted')[0].props).toMatchObject({ prompt_id: 'served', type: 'csat', score: 5 });
    const stats = await (await fetch(`${collector.url}/v1/sites/demo/stats`)).json();
    expect(stats.total.feedback.csat_average).toBe(5);
  });

  test('a page on another origin reads the served config across origins and shows the prompt', async ({ collector }) => {
    // A shop on its own origin. Chromium's local-network checks would keep a page on a
    // public name from reaching 127.0.0.1 at all, so this browser runs without them; CORS
    // is what is tested.
    const browser = await chromium.launch(ownBrowser([WITHOUT_LOCAL_NETWORK_CHECKS]));
    try {
      const page = await browser.newPage({ userAgent: USER_AGENT });
      const errors = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      const html = `<!doctype html><meta charset="utf-8"><title>t</title>
        <script src="${collector.url}/embed/rapport.js" data-site="demo" data-endpoint="${collector.url}/v1/batch" data-batch-wait="100"></script>`;
      for (const p of ['a', 'b']) await servePage(page, `http://shop.test/shop/${p}.html`, html);
      await page.goto('http://shop.test/shop/a.html');
      await collector.waitFor((events) => named(events, 'page_view').length === 1);
      await page.goto('http://shop.test/shop/b.html');
      await expect(card(page)).toBeVisible();
      await expect(card(page).locator('.q')).toHaveText('How was your visit?');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

test.describe('a loyalty tier condition', () => {
  const secret = 'tier-test-secret-0123456789abcdef0123';
  test.use({
    siteConfig: `secret = "${secret}"
[site.loyalty]
feedback_points = 10
[[site.loyalty.tiers]]
id = "bronze"
name = { en = "Bronze" }
threshold = 0
[[site.loyalty.tiers]]
id = "gold"
name = { en = "Gold" }
threshold = 1000

[[site.prompt]]
id = "members"
type = "thumbs"
display = "popover"
question = { en = "Enjoying your member perks?" }
trigger = { loyalty_tier = "bronze" }

[[site.prompt]]
id = "gold-only"
type = "thumbs"
display = "inline"
selector = "#gold"
question = { en = "A question for gold members" }
trigger = { loyalty_tier = "gold" }
`,
  });

  const page_ = (identify) => `<!doctype html><meta charset="utf-8"><title>t</title>
    <script>window.rapport = undefined;</script>
    <script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="100"></script>
    <script>${identify}</script><div id="gold"></div>`;

  test('holds for an identified shopper whose tier the collector confirms, never for an anonymous one', async ({ page, collector }) => {
    // Signed as the site's server signs identify(): under the identity key derived from the
    // secret (docs/loyalty-referral.md).
    const crypto = require('node:crypto');
    const key = crypto.createHmac('sha256', secret).update('rapport-identity-v1').digest();
    const hash = crypto.createHmac('sha256', key).update('cust-7').digest('hex');
    await servePage(page, `${collector.url}/anon.html`, page_(''));
    await page.goto(`${collector.url}/anon.html`);
    await collector.waitFor((all) => named(all, 'page_view').length === 1);
    await stageWatching(page);
    await expect(card(page)).toHaveCount(0);

    await servePage(page, `${collector.url}/member.html`, page_(`rapport.identify('cust-7', { hash: '${hash}' });`));
    await page.goto(`${collector.url}/member.html`);
    await expect(card(page)).toHaveCount(1);
    await expect(card(page).locator('.q')).toHaveText('Enjoying your member perks?');
    await page.waitForTimeout(1200);
    // Bronze is not gold: the gold-only prompt (inline, outside the budget) stays away.
    expect(await page.locator('#gold rapport-ui').count()).toBe(0);
    const all = await collector.waitFor((events) => named(events, 'prompt_shown').length === 1);
    expect(named(all, 'prompt_shown')[0].props.prompt_id).toBe('members');
  });
});

test('the theme sets brand colour, radius and font; text on a light brand colour stays readable', async ({ page, collector }) => {
  const theme = { brand_color: '#ffd400', radius_px: 4, font_family: 'Georgia, serif' };
  // The page's own custom properties of the same names do not reach the card.
  const head = '<style>:root, rapport-ui { --b: #ff0000; --o: #00ff00; --r: 40px; --f: monospace }</style>';
  await open(page, collector, { theme, prompts: [prompt({ type: 'csat', display: 'popover' })] }, { head });
  const c = card(page);
  await c.getByRole('radio', { name: '4, Satisfied', exact: true }).click();
  // The brand colour hardly stands out from white: the checked step gets a dark edge.
  expect(await c.getByRole('radio', { checked: true }).evaluate((el) => getComputedStyle(el).borderTopColor)).toBe('rgb(17, 17, 17)');
  const send = c.getByRole('button', { name: 'Send' });
  const style = await send.evaluate((el) => { const s = getComputedStyle(el); return [s.backgroundColor, s.color, s.fontFamily]; });
  expect(style).toEqual(['rgb(255, 212, 0)', 'rgb(17, 17, 17)', 'Georgia, serif']);
  expect(await c.evaluate((el) => getComputedStyle(el).borderTopLeftRadius)).toBe('4px');
  expect(await axe(page)).toEqual([]);
});

test('after an opt-out no prompt appears and nothing is stored under rapport:', async ({ page, collector }) => {
  await open(page, collector, { prompts: [prompt({ type: 'thumbs', display: 'popover', trigger: { exit_intent: true } })] });
  await collector.waitFor((all) => named(all, 'page_view').length === 1);
  await stageWatching(page);
  await page.evaluate(() => rapport.optOut());
  await page.mouse.move(400, 300);
  await page.mouse.move(400, -5, { steps: 4 });
  await page.waitForTimeout(1200);
  await expect(card(page)).toHaveCount(0);
  const keys = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('rapport:')));
  expect(keys).toEqual(['rapport:opt_out']);
});
