// The loyalty and referral panels in Chromium, on the demo shop, against the real collector:
// a referral from link to earned reward, feedback points arriving without a reload, a
// redemption's coupon, the anonymous join state, the promoters' nudge, axe-core, and the
// Arabic and Hebrew layouts.
const crypto = require('node:crypto');
const { test, expect, axe, fastBatches } = require('./fixtures');

// The collector's programs for these tests: a five-second hold, so a reward is seen pending
// and then earned.
const PROGRAMS = `secret = "e2e-secret-0123456789abcdef0123456789"
demo = true
identity_max_age_seconds = 3600
[[site.prompt]]
id = "site-feedback"
type = "text"
display = "tab"
question = { en = "What could make this shop better?" }
trigger = { url_include = ["/demo/*"] }

[site.referral]
offer = { en = "Give $15, get $15", ar = "امنح صديقك 15 دولارًا واحصل على 15 دولارًا", he = "תנו 15$, קבלו 15$" }
hold_seconds = 5

[site.loyalty]
points_per_currency_unit = 1
feedback_points = 50
referral_points = 500

[[site.loyalty.tiers]]
id = "bronze"
name = { en = "Bronze", ar = "برونزي", he = "ארד" }
threshold = 0

[[site.loyalty.tiers]]
id = "silver"
name = { en = "Silver", ar = "فضي", he = "כסף" }
threshold = 1000

[[site.loyalty.rewards]]
id = "five-off"
name = { en = "$5 off your next order", ar = "خصم 5 دولارات", he = "5$ הנחה" }
cost = 500

[site.panels]
sign_in_url = "/demo/account.html"
share_url = "/demo/"
`;
test.use({ siteConfig: PROGRAMS, permissions: ['clipboard-read', 'clipboard-write'] });
const SECRET = PROGRAMS.match(/^secret = "(.*)"$/m)[1];
// The key identities are signed with, derived from the secret as a site's server derives it
// (docs/loyalty-referral.md): HMAC-SHA256(secret, "rapport-identity-v1").
const IDENTITY_KEY = crypto.createHmac('sha256', SECRET).update('rapport-identity-v1').digest();

const sheet = (page) => page.locator('rapport-ui .sheet');
const launcher = (page) => page.locator('rapport-ui .launch');
/** The panel's visible tab panel (the other one is hidden). */
const pane = (page) => sheet(page).getByRole('tabpanel');
/** The referral stats: invited, ordered, pending, earned. */
const stat = (page, i) => sheet(page).locator('.stats dd').nth(i);

async function signIn(page, collector, email) {
  await page.goto(`${collector.url}/demo/account.html`);
  await page.fill('#email', email);
  await page.click('#sign-in button');
  await expect(page.locator('#account-status')).toHaveText(`Signed in as ${email}.`);
  // The launcher shows the balance once the widget has read it.
  await expect(launcher(page).locator('.badge')).toHaveText('0');
}

/** A screenshot kept in the test's output folder (target/playwright/…) and the report. */
async function shot(page, testInfo, name) {
  const file = testInfo.outputPath(name);
  await page.screenshot({ path: file });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}

/** Closes the panel if it is open and opens it again: it reads the backend on opening. */
async function reopen(page) {
  if (await sheet(page).count()) await sheet(page).getByRole('button', { name: 'Close' }).click();
  await launcher(page).click();
  await expect(sheet(page)).toBeVisible();
}

test('a referral goes from link to earned reward, feedback earns points, and a reward is redeemed', async ({ page, collector, browser, consoleLog }) => {
  test.setTimeout(60_000);
  await signIn(page, collector, 'ana@example.com');

  // A copies her personal link.
  await launcher(page).click();
  await sheet(page).getByRole('tab', { name: 'Refer a friend' }).click();
  const link = await sheet(page).locator('#link').inputValue();
  expect(link).toMatch(new RegExp(`^${collector.url}/demo/\\?ref=[2-9A-HJ-NP-Z]{13}$`));
  await sheet(page).getByRole('button', { name: 'Copy link' }).click();
  await expect(sheet(page).locator('.live')).toHaveText('Copied');
  await expect(page.locator('rapport-ui [role=status]').filter({ hasText: 'Copied' })).toHaveCount(1); // announced
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);

  // B opens it in a browser of her own and buys.
  const other = await browser.newContext();
  await fastBatches(other);
  const b = await other.newPage();
  await b.goto(link);
  await b.click('button.add[data-sku="mug-01"]');
  await b.goto(`${collector.url}/demo/checkout.html`);
  await b.fill('#checkout-email', 'bo@example.org');
  await b.click('#pay');
  await expect(b.locator('#checkout-status')).toContainText('is confirmed and earns 24 points');
  // B's browser closes only once her visit is stored: closing a browser cancels the requests
  // it still has in flight, such as the landing page's beacon on a loaded machine.
  await collector.waitFor((events) => events.some((e) => e.props && e.props.referral_code));
  await other.close();

  // A's reward is pending through the hold, then earned, and her balance shows it.
  await reopen(page);
  await expect(stat(page, 1)).toHaveText('1');
  await expect(stat(page, 2)).toHaveText('1');
  await expect(stat(page, 3)).toHaveText('0');
  await expect(async () => {
    await reopen(page);
    await expect(stat(page, 3)).toHaveText('1', { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(stat(page, 2)).toHaveText('0');
  await expect(stat(page, 0)).toHaveText('1'); // B's visit carried the code
  await expect(launcher(page).locator('.badge')).toHaveText('500');
  await sheet(page).getByRole('button', { name: 'Close' }).click();

  // A answers the feedback prompt; the collector credits 50 points, and they appear without
  // a reload, announced.
  await page.getByRole('button', { name: 'Feedback' }).click();
  await page.locator('rapport-ui textarea').fill('More glaze colours, please');
  await page.locator('rapport-ui .card').getByRole('button', { name: 'Send' }).click();
  await expect(launcher(page).locator('.badge')).toHaveText('550', { timeout: 15_000 });
  await expect(page.locator('rapport-ui .gain')).toHaveText('+50 points');

  // A redeems 500 points for a coupon; the balance drops to 50.
  await launcher(page).click();
  await sheet(page).getByRole('tab', { name: 'Points' }).click();
  await sheet(page).getByRole('button', { name: 'Redeem: $5 off your next order' }).click();
  await expect(sheet(page).locator('.code')).toHaveText(/^RAP-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
  await expect(sheet(page).locator('.bal .n')).toHaveText('50');
  await expect(launcher(page).locator('.badge')).toHaveText('50');
  await expect(sheet(page).getByRole('button', { name: 'Redeem: $5 off your next order' })).toBeDisabled();
  const activity = sheet(page).locator('.rows').last();
  await expect(activity).toContainText('Reward redeemed');
  await expect(activity).toContainText('Feedback');
  await expect(activity).toContainText("Friend's order");

  // What the widget sent: the share and the redemption as events, with no points claimed.
  const all = await collector.waitFor((events) => events.some((e) => e.name === 'reward_redeemed'));
  expect(all.find((e) => e.name === 'referral_shared').props.channel).toBe('copy');
  expect(all.find((e) => e.name === 'reward_redeemed').props.reward).toBe('five-off');
  expect(consoleLog.pageErrors).toEqual([]);
  expect(consoleLog.rapport()).toEqual([]);
});

test('an anonymous shopper sees the benefits and a way to join, and signing out hides the balance', async ({ page, collector }) => {
  await page.goto(`${collector.url}/demo/`);
  await expect(launcher(page)).toHaveText('★ Rewards');
  await launcher(page).click();
  await expect(pane(page).getByText('Join to collect points and rewards')).toBeVisible();
  await expect(sheet(page).getByText('Leave feedback')).toBeVisible();
  await expect(sheet(page).getByText('1,000 points')).toBeVisible(); // Silver's threshold
  expect(await axe(page)).toEqual([]);
  await sheet(page).getByRole('tab', { name: 'Refer a friend' }).click();
  await expect(sheet(page).getByText('Give $15, get $15')).toBeVisible();
  await expect(sheet(page).locator('#link')).toHaveCount(0);
  await sheet(page).getByRole('link', { name: 'Join or sign in' }).click();
  await expect(page).toHaveURL(`${collector.url}/demo/account.html`);

  await signIn(page, collector, 'cy@example.com');
  await page.click('#sign-out');
  await expect(launcher(page)).toHaveText('★ Rewards');
});

test('a forged or expired identity reads nothing: the panel shows the join state', async ({ page, collector, consoleLog }) => {
  await page.goto(`${collector.url}/demo/`);
  const id = 'shopper-0000000000000000';
  const expired = Math.floor(Date.now() / 1000) - 60;
  const signed = (expires) => crypto.createHmac('sha256', IDENTITY_KEY).update(`rapport-identity.${expires}.${id}`).digest('hex');
  for (const identity of [{ hash: 'ab'.repeat(32), expires: expired + 600 }, { hash: signed(expired), expires: expired }]) {
    await page.evaluate(([user, options]) => rapport.identify(user, options), [id, identity]);
    await launcher(page).click();
    await expect(pane(page).getByText('Join to collect points and rewards')).toBeVisible();
    await expect(launcher(page).locator('.badge')).toHaveCount(0);
    await sheet(page).getByRole('button', { name: 'Close' }).click();
  }
  // The same shopper with a fresh signature is let in.
  const fresh = expired + 3000;
  await page.evaluate(([user, options]) => rapport.identify(user, options), [id, { hash: signed(fresh), expires: fresh }]);
  await expect(launcher(page).locator('.badge')).toHaveText('0');
  // A renewed signature for the same shopper (another tab, a new page render) keeps what the
  // panel shows: it is read again with the new headers, not wiped and reloaded.
  await launcher(page).click();
  await expect(sheet(page).locator('#link')).toBeAttached();
  await sheet(page).locator('.bal .n').evaluate((el) => { el.dataset.mark = 'kept'; });
  const renewed = fresh + 60;
  await page.evaluate(([user, options]) => rapport.identify(user, options), [id, { hash: signed(renewed), expires: renewed }]);
  await expect.poll(() => page.evaluate(() => JSON.parse(localStorage.getItem('rapport:user')).exp)).toBe(renewed);
  await page.waitForTimeout(1500); // the panels look at the identity every second
  await expect(sheet(page).locator('.bal .n[data-mark=kept]')).toHaveText('0');
  expect(consoleLog.pageErrors).toEqual([]);
});

test('axe-core finds no violations in the signed-in points and referral panels', async ({ page, collector }) => {
  await signIn(page, collector, 'dee@example.com');
  await launcher(page).click();
  await expect(sheet(page).locator('.bal .n')).toHaveText('0');
  expect(await axe(page)).toEqual([]);
  // Keyboard: arrow keys move between the tabs; Escape closes and gives focus back.
  await page.keyboard.press('ArrowRight');
  await expect(sheet(page).getByRole('tab', { name: 'Refer a friend' })).toBeFocused();
  await expect(sheet(page).locator('#link')).toBeVisible();
  expect(await axe(page)).toEqual([]);
  await page.keyboard.press('Escape');
  await expect(sheet(page)).toHaveCount(0);
  await expect(launcher(page)).toBeFocused();
});

test('a promoter is invited to refer a friend after the NPS answer', async ({ page, collector }) => {
  await signIn(page, collector, 'eve@example.com');
  // The collector's programs plus an NPS prompt due at once.
  await page.route(/\/v1\/sites\/demo\/config$/, async (route) => {
    const response = await route.fetch();
    const config = await response.json();
    config.prompts = [{ id: 'nps', type: 'nps', display: 'popover', question: { en: 'Would you recommend us?' }, trigger: { engaged_seconds: 0 } }];
    await route.fulfill({ response, json: config });
  });
  await page.goto(`${collector.url}/demo/`);
  const c = page.locator('rapport-ui .card');
  await c.getByRole('radio', { name: '9' }).click();
  await c.getByRole('button', { name: 'Send' }).click();
  await expect(c).toContainText('Glad you like us! Invite a friend: Give $15, get $15');
  await c.getByRole('button', { name: 'Refer a friend' }).click();
  await expect(sheet(page).getByRole('tab', { name: 'Refer a friend' })).toHaveAttribute('aria-selected', 'true');
  await expect(sheet(page).locator('#link')).toBeVisible();
  await expect(c).toHaveCount(0);
});

for (const [lang, title, refer] of [['ar', 'المكافآت', 'ادعُ صديقًا'], ['he', 'הטבות', 'הזמינו חבר']]) {
  test(`${lang}: the panels are mirrored right to left`, async ({ page, collector }, testInfo) => {
    await page.setViewportSize({ width: 1000, height: 760 });
    await signIn(page, collector, `${lang}@example.com`);
    await page.route(/\/demo\/$/, async (route) => {
      const response = await route.fetch();
      const body = (await response.text()).replace('<html lang="en">', `<html lang="${lang}" dir="rtl">`)
        .replace('data-site="demo"', `data-site="demo" data-locale="${lang}"`);
      await route.fulfill({ response, body });
    });
    await page.goto(`${collector.url}/demo/`);
    const open = page.locator('rapport-ui .launch');
    await expect(open).toContainText(title);
    await expect(open.locator('.badge')).toHaveText('0'); // the balance is in: no more re-rendering
    // The launcher and the panel sit at the start edge: the right.
    const launchBox = await open.boundingBox();
    expect(launchBox.x + launchBox.width).toBeGreaterThan(960);
    await open.click();
    const s = sheet(page);
    await expect(s.locator('.bal .n')).toHaveText('0');
    await expect(s.locator('#link')).toBeAttached(); // both panels have been read
    const sheetBox = await s.boundingBox();
    expect(sheetBox.x).toBeGreaterThan(500);
    expect(await s.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    // The first tab is on the right, the close button on the left.
    const points = await s.getByRole('tab').first().boundingBox();
    const referTab = await s.getByRole('tab', { name: refer }).boundingBox();
    expect(points.x).toBeGreaterThan(referTab.x);
    const close = await s.locator('.x').boundingBox();
    expect(close.x - sheetBox.x).toBeLessThan(40);
    expect(await axe(page)).toEqual([]);
    await shot(page, testInfo, `panel-${lang}-points.png`);
    await s.getByRole('tab', { name: refer }).click();
    await expect(s.locator('#link')).toBeVisible();
    expect(await axe(page)).toEqual([]);
    await shot(page, testInfo, `panel-${lang}-referral.png`);
  });
}

for (const reducedMotion of ['no-preference', 'reduce']) {
  test(`points from an order arrive without a reload, celebrated ${reducedMotion == 'reduce' ? 'without' : 'with'} motion (${reducedMotion})`, async ({ page, collector }) => {
    await page.emulateMedia({ reducedMotion });
    await signIn(page, collector, 'fay@example.com');
    await page.goto(`${collector.url}/demo/product.html?sku=towel-02`);
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.goto(`${collector.url}/demo/checkout.html`);
    await expect(page.locator('#checkout-email')).toHaveValue('fay@example.com');
    await page.click('#pay');
    await expect(page.locator('#checkout-status')).toContainText('earns 16 points');
    // The purchase event has the widget look again; the server credited the order.
    const gain = page.locator('rapport-ui .gain');
    await expect(gain).toHaveText('+16 points', { timeout: 10_000 });
    // Announced through the launcher's own live region, which stays in place.
    await expect(page.locator('rapport-ui [role=status]').filter({ hasText: '+16 points' })).toHaveCount(1);
    await expect(launcher(page).locator('.badge')).toHaveText('16');
    const animations = await gain.evaluate((el) => el.getAnimations().length);
    expect(animations).toBe(reducedMotion == 'reduce' ? 0 : 1);
    // The celebration ends by itself.
    await expect(gain).toHaveText('', { timeout: 6000 });
  });
}

test('the share buttons carry the personal link and a prefilled message; Web Share is used where the browser has it', async ({ page, collector }) => {
  await page.addInitScript(() => {
    window.__shared = [];
    navigator.share = (data) => { window.__shared.push(data); return Promise.resolve(); };
  });
  await signIn(page, collector, 'gil@example.com');
  await launcher(page).click();
  await sheet(page).getByRole('tab', { name: 'Refer a friend' }).click();
  const link = await sheet(page).locator('#link').inputValue();
  const message = "I think you'll like this shop. Here's a welcome gift for your first order:";
  const href = (name) => sheet(page).getByRole('link', { name, exact: true }).getAttribute('href');
  const whatsapp = new URL(await href('WhatsApp'));
  expect(whatsapp.host).toBe('wa.me');
  expect(whatsapp.searchParams.get('text')).toBe(`${message} ${link}`);
  expect(new URL(await href('Telegram')).searchParams.get('url')).toBe(link);
  expect(new URL(await href('X')).searchParams.get('url')).toBe(link);
  expect(new URL(await href('Facebook')).searchParams.get('u')).toBe(link);
  expect(new URL(await href('LINE')).searchParams.get('text')).toContain(link);
  const mail = new URL(await href('Email'));
  expect(mail.protocol).toBe('mailto:');
  expect(mail.searchParams.get('body')).toContain(link);
  for (const name of ['WhatsApp', 'LINE', 'Telegram', 'X', 'Facebook']) {
    await expect(sheet(page).getByRole('link', { name, exact: true })).toHaveAttribute('target', '_blank');
  }
  await sheet(page).getByRole('button', { name: 'Share', exact: true }).click();
  await expect.poll(() => page.evaluate(() => window.__shared)).toEqual([{ title: 'A gift for your first order', text: message, url: link }]);
  const all = await collector.waitFor((events) => events.some((e) => e.name === 'referral_shared'));
  expect(all.filter((e) => e.name === 'referral_shared').map((e) => e.props.channel)).toEqual(['web_share']);
});

test('hostile host CSS does not reach the panel', async ({ page, collector }) => {
  const measure = async () => {
    await launcher(page).click();
    await expect(pane(page)).toBeVisible();
    await page.waitForTimeout(300); // the entrance animation is over
    const shape = await sheet(page).evaluate((el) => {
      const r = el.getBoundingClientRect();
      const s = getComputedStyle(el);
      return [r.width, r.height, s.fontSize, s.fontFamily, s.backgroundColor, s.position];
    });
    await sheet(page).getByRole('button', { name: 'Close' }).click();
    return shape;
  };
  await page.goto(`${collector.url}/demo/`);
  const clean = await measure();
  await page.addStyleTag({ content: '* { font: 40px/3 monospace !important; color: red !important; background: yellow !important; display: inline !important; padding: 30px !important; } rapport-ui { display: none !important; }' });
  expect(await measure()).toEqual(clean);
});

test('th: the panels speak Thai, with room for its tall marks', async ({ page, collector }) => {
  await signIn(page, collector, 'th@example.com');
  await page.route(/\/demo\/$/, async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace('data-site="demo"', 'data-site="demo" data-locale="th"');
    await route.fulfill({ response, body });
  });
  await page.goto(`${collector.url}/demo/`);
  await expect(launcher(page)).toContainText('รางวัล');
  await launcher(page).click();
  const s = sheet(page);
  await expect(s.getByRole('tab', { name: 'คะแนน' })).toBeVisible();
  await expect(s.getByText('คะแนนของคุณ')).toBeVisible();
  await expect(s.locator('#link')).toBeAttached(); // both panels have been read
  // Thai lines get the taller line height, so marks above and below are not cut.
  const lineHeight = await s.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) / parseFloat(getComputedStyle(el).fontSize));
  expect(lineHeight).toBeGreaterThanOrEqual(1.75);
  expect(await axe(page)).toEqual([]);
});

test('buying through one\'s own link from the same browser earns no referral reward', async ({ page, collector }) => {
  await signIn(page, collector, 'hal@example.com');
  await launcher(page).click();
  await sheet(page).getByRole('tab', { name: 'Refer a friend' }).click();
  const link = await sheet(page).locator('#link').inputValue();
  await sheet(page).getByRole('button', { name: 'Close' }).click();
  // Signed out, with another e-mail, but the same browser: the visitor id gives it away.
  await page.click('#sign-out');
  await page.goto(link);
  await page.click('button.add[data-sku="coffee-03"]');
  await page.goto(`${collector.url}/demo/checkout.html`);
  await page.fill('#checkout-email', 'someone.else@example.net');
  expect(await page.evaluate(() => rapport.visitor())).toMatch(/^[0-9a-f-]{36}$/);
  await page.click('#pay');
  await expect(page.locator('#checkout-status')).toContainText('The referral earns nothing (self_referral).');
  await signIn(page, collector, 'hal@example.com');
  await launcher(page).click();
  await sheet(page).getByRole('tab', { name: 'Refer a friend' }).click();
  await expect(stat(page, 1)).toHaveText('0');
  await expect(stat(page, 2)).toHaveText('0');
});
