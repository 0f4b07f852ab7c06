// Every surface a shopper can see, in English and in Arabic, on the demo shop against the
// real collector: the prompt card, the side tab, the launcher, and the points and referral
// panels. Each is checked for its language and direction and saved as a screenshot under
// target/playwright/ (attached to the report), so a change of look is seen in review.
const { test, expect } = require('./fixtures');

test.use({
  siteConfig: `
[[site.prompt]]
id = "nps"
type = "nps"
display = "modal"
question = { en = "How likely are you to recommend us to a friend?", ar = "ما مدى احتمال أن توصي بنا صديقًا؟" }
trigger = { engaged_seconds = 0 }

[[site.prompt]]
id = "site-feedback"
type = "text"
display = "tab"
question = { en = "What could make this shop better?", ar = "ما الذي يجعل هذا المتجر أفضل؟" }
trigger = { url_include = ["/demo/*"] }

[site.referral]
offer = { en = "Give $15, get $15", ar = "امنح صديقك 15 دولارًا واحصل على 15 دولارًا" }

[site.loyalty]
points_per_currency_unit = 1
feedback_points = 50

[[site.loyalty.tiers]]
id = "bronze"
name = { en = "Bronze", ar = "برونزي" }
threshold = 0

[[site.loyalty.tiers]]
id = "silver"
name = { en = "Silver", ar = "فضي" }
threshold = 1000

[site.panels]
sign_in_url = "/demo/account.html"
`,
});

async function shot(page, testInfo, name) {
  // After the entrance animations, so the picture is what stays on screen.
  await page.evaluate(() => Promise.all([...document.querySelectorAll('rapport-ui')]
    .flatMap((h) => h.shadowRoot.getAnimations().map((a) => a.finished))));
  const file = testInfo.outputPath(name);
  await page.screenshot({ path: file });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}

for (const [lang, dir, texts] of [
  ['en', 'ltr', { close: 'Close', tab: 'Feedback', rewards: 'Rewards', refer: 'Refer a friend' }],
  ['ar', 'rtl', { close: 'إغلاق', tab: 'شاركنا رأيك', rewards: 'المكافآت', refer: 'ادعُ صديقًا' }],
]) {
  test(`${lang}: the card, the side tab, the launcher and both panels`, async ({ page, collector }, testInfo) => {
    await page.setViewportSize({ width: 1000, height: 760 });
    await page.route(/\/demo\/$/, async (route) => {
      const response = await route.fetch();
      const body = (await response.text()).replace('<html lang="en">', `<html lang="${lang}" dir="${dir}">`)
        .replace('data-site="demo"', `data-site="demo" data-locale="${lang}"`);
      await route.fulfill({ response, body });
    });
    await page.goto(`${collector.url}/demo/`);
    const surface = (selector) => page.locator(`rapport-ui ${selector}`);
    const direction = (locator) => locator.evaluate((el) => [el.closest('[dir]').getAttribute('dir'), el.closest('[lang]').getAttribute('lang')]);

    // The modal card, due at once.
    const card = surface('.card');
    await expect(card).toBeVisible();
    expect(await direction(card)).toEqual([dir, lang]);
    await expect(card.getByRole('radio')).toHaveCount(11);
    await shot(page, testInfo, `card-${lang}.png`);
    await card.getByRole('button', { name: texts.close }).click();
    await expect(card).toHaveCount(0);

    // The side tab sits at the end edge: the right in English, the left in Arabic.
    const tab = surface('.tab');
    await expect(tab).toHaveText(texts.tab);
    const tabBox = await tab.boundingBox();
    expect(lang == 'ar' ? tabBox.x < 100 : tabBox.x + tabBox.width > 900).toBe(true);
    await shot(page, testInfo, `side-tab-${lang}.png`);

    // The launcher sits at the start edge.
    const launch = surface('.launch');
    await expect(launch).toContainText(texts.rewards);
    const launchBox = await launch.boundingBox();
    expect(lang == 'ar' ? launchBox.x + launchBox.width > 900 : launchBox.x < 100).toBe(true);
    await shot(page, testInfo, `launcher-${lang}.png`);

    // The panels, for a shopper who has not signed in: the way in and the ways to earn.
    await launch.click();
    const sheet = surface('.sheet');
    await expect(sheet).toBeVisible();
    expect(await direction(sheet)).toEqual([dir, lang]);
    await expect(sheet.getByRole('tabpanel').getByRole('link')).toHaveAttribute('href', /\/demo\/account\.html$/);
    await shot(page, testInfo, `points-panel-${lang}.png`);
    await sheet.getByRole('tab', { name: texts.refer }).click();
    await expect(sheet.getByRole('tab', { name: texts.refer })).toHaveAttribute('aria-selected', 'true');
    await expect(sheet.getByRole('tabpanel')).toContainText(lang == 'ar' ? 'امنح صديقك' : 'Give $15, get $15');
    await shot(page, testInfo, `referral-panel-${lang}.png`);
  });
}
