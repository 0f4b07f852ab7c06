// The public API under hostile input and on hostile host pages, against the real collector.
// Each test performs one attack and asserts: no page error, the exact console message, and
// that a valid call afterwards leaves the page exactly once (counted on the wire, since the
// collector itself keeps each event id once) and is stored.
const { test, expect, servePage } = require('./fixtures');

const named = (events, name) => events.filter((e) => e.name === name);

/** A page on the collector's origin: `before` runs ahead of the loader, `after` behind it. */
function hostilePage({ before = '', after = '', attrs = '', body = '' } = {}) {
  return `<!doctype html><meta charset="utf-8"><title>hostile</title>
    ${before ? `<script>${before}</script>` : ''}
    <script src="/embed/rapport.js" data-site="demo" data-endpoint="/v1/batch" data-batch-wait="100" ${attrs}></script>
    ${after ? `<script>${after}</script>` : ''}
    ${body}`;
}

/** Every event name the page sent to /v1/batch, once per copy sent. */
function wire(page) {
  const sent = [];
  page.on('request', (r) => {
    if (!r.url().includes('/v1/batch')) return;
    try {
      for (const e of JSON.parse(r.postData()).events) sent.push(e.name);
    } catch { /* not a batch */ }
  });
  return { count: (name) => sent.filter((n) => n === name).length, all: sent };
}

async function open(page, collector, html, path = 'hostile.html') {
  const url = `${collector.url}/demo/${path}`;
  await servePage(page, url, html);
  await page.goto(url);
}

/** Waits until `name` is stored, then a moment for any second copy, and checks it left once. */
async function arrivesOnce(page, collector, sent, name) {
  await collector.waitFor((events) => named(events, name).length === 1);
  await page.waitForTimeout(500);
  expect(sent.count(name)).toBe(1);
}

const warnings = (log) => log.rapport().map((m) => m.text.trim());

test('configure() with headers that are not an object is refused with a warning, and delivery goes on', async ({ page, collector, consoleLog }) => {
  const sent = wire(page);
  await open(page, collector, hostilePage());
  await collector.waitFor((events) => named(events, 'page_view').length === 1);
  await page.evaluate(() => {
    rapport.configure({ transport: { headers: 'garbage' } });
    rapport.configure({ transport: { headers: { 'bad name': 'x' } } });
    rapport.configure({ transport: { beforeSend: 'not a function' } });
    rapport.track('after_garbage', { n: 1 });
  });
  await arrivesOnce(page, collector, sent, 'after_garbage');
  expect(warnings(consoleLog)).toEqual([
    'rapport: configure() ignored transport.headers: it must be an object of header names to string values',
    'rapport: configure() ignored transport.headers: it must be an object of header names to string values',
    'rapport: configure() ignored transport.beforeSend: it must be a function',
  ]);
  // Valid headers still go out.
  let seen = '';
  page.on('request', (r) => { if (r.url().includes('/v1/batch')) seen = r.headers()['x-shop'] || seen; });
  await page.evaluate(() => {
    rapport.configure({ transport: { headers: { 'x-shop': 'tea' } } });
    rapport.track('with_header');
  });
  await arrivesOnce(page, collector, sent, 'with_header');
  expect(seen).toBe('tea');
  expect(consoleLog.pageErrors).toEqual([]);
});

test('a call queued before load with unreadable props costs that call only', async ({ page, collector, consoleLog }) => {
  const sent = wire(page);
  await open(page, collector, hostilePage({
    after: `rapport.track('bad_early', { get boom() { throw new Error('boom'); } });
      rapport.track('good_early', { ok: true });`,
  }));
  await arrivesOnce(page, collector, sent, 'good_early');
  await page.evaluate(() => rapport.track('after_load'));
  await arrivesOnce(page, collector, sent, 'after_load');
  expect(sent.count('bad_early')).toBe(0);
  expect(warnings(consoleLog)).toEqual(['rapport: track("bad_early") dropped the event: props could not be read (Error: boom)']);
  expect(consoleLog.pageErrors).toEqual([]);
});

test('props and identify options behind throwing getters or proxies give one warning each', async ({ page, collector, consoleLog }) => {
  const sent = wire(page);
  await open(page, collector, hostilePage());
  await collector.waitFor((events) => named(events, 'page_view').length === 1);
  await page.evaluate(() => {
    const trap = () => { throw new Error('trap'); };
    rapport.track('getter', { get x() { throw new Error('getter'); } });
    rapport.track('proxy', new Proxy({}, { ownKeys: trap, get: trap, getOwnPropertyDescriptor: trap }));
    rapport.identify('cust-1', new Proxy({}, { get: trap }));
    rapport.track('valid_after');
  });
  await arrivesOnce(page, collector, sent, 'valid_after');
  expect(warnings(consoleLog)).toEqual([
    'rapport: track("getter") dropped the event: props could not be read (Error: getter)',
    'rapport: track("proxy") dropped the event: props could not be read (Error: trap)',
    'rapport: identify() ignored: its options could not be read (Error: trap)',
  ]);
  expect(sent.count('getter') + sent.count('proxy')).toBe(0);
  expect(await page.evaluate(() => localStorage.getItem('rapport:user'))).toBeNull();
  expect(consoleLog.pageErrors).toEqual([]);
});

test('consent() takes true or false only, and a refusal is not an opt-out', async ({ page, collector, consoleLog }) => {
  const sent = wire(page);
  await open(page, collector, hostilePage({ attrs: 'data-consent="required"', after: "rapport.track('before_answer')" }));
  await page.evaluate(() => { rapport.consent('yes'); rapport.consent('false'); rapport.consent(1); });
  await page.waitForTimeout(500);
  expect(sent.all).toEqual([]);
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('rapport:')))).toEqual([]);
  expect(warnings(consoleLog)).toEqual([
    'rapport: consent() ignored: pass true or false, not "yes"',
    'rapport: consent() ignored: pass true or false, not "false"',
    'rapport: consent() ignored: pass true or false, not 1',
  ]);
  // Refused: nothing is kept, and calls made meanwhile are dropped.
  await page.evaluate(() => { rapport.consent(false); rapport.track('while_refused'); });
  await page.waitForTimeout(300);
  expect(sent.all).toEqual([]);
  expect(await page.evaluate(() => localStorage.getItem('rapport:opt_out'))).toBeNull();
  // Granted later: tracking starts.
  await page.evaluate(() => rapport.consent(true));
  await arrivesOnce(page, collector, sent, 'page_view');
  await page.evaluate(() => rapport.track('after_consent'));
  await arrivesOnce(page, collector, sent, 'after_consent');
  expect(sent.count('while_refused') + sent.count('before_answer')).toBe(0);
  // Withdrawn while running: it stops and clears its keys; granted again, it runs again.
  await page.evaluate(() => rapport.consent(false));
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('rapport:')))).toEqual([]);
  await page.evaluate(() => { rapport.track('withdrawn'); rapport.consent(true); });
  await collector.waitFor((events) => named(events, 'page_view').length === 2);
  await page.evaluate(() => rapport.track('granted_again'));
  await arrivesOnce(page, collector, sent, 'granted_again');
  expect(sent.count('withdrawn')).toBe(0);
  expect(consoleLog.pageErrors).toEqual([]);
});

// Host pages that replaced a built-in: each keeps working where the platform lets it.
const hosts = [
  {
    name: 'Promise replaced before the loader',
    before: "window.Promise = function () { throw new Error('no promises here'); };",
  },
  {
    name: 'JSON.stringify replaced after the loader',
    after: "JSON.stringify = function () { throw new Error('hostile stringify'); };",
  },
  {
    name: 'Array.prototype.push throwing',
    before: "Array.prototype.push = function () { throw new Error('hostile push'); };",
  },
  {
    name: 'localStorage.setItem throwing',
    before: "Storage.prototype.setItem = function () { throw new DOMException('hostile', 'QuotaExceededError'); };",
    warning: 'rapport: storage is full or blocked (QuotaExceededError); events are kept in memory',
  },
  {
    name: 'frozen intrinsics',
    before: 'Object.freeze(Object.prototype); Object.freeze(Array.prototype); Object.freeze(Function.prototype);',
  },
];

for (const host of hosts) {
  test(`a host page with ${host.name}: no page error, and events arrive once`, async ({ page, collector, consoleLog }) => {
    const sent = wire(page);
    await open(page, collector, hostilePage({
      before: host.before,
      after: host.after,
      body: '<button id="b" data-rapport-event="shared" data-rapport-prop-constructor="c" data-rapport-prop-__proto__="p">share</button>',
    }));
    await arrivesOnce(page, collector, sent, 'page_view');
    await page.click('#b');
    await arrivesOnce(page, collector, sent, 'shared');
    const stored = named(await collector.events(), 'shared')[0];
    expect(stored.props.constructor).toBe('c');
    expect(stored.props.__proto__).toBe('p');
    await page.evaluate(() => rapport.track('valid_after', { n: 2 }));
    await arrivesOnce(page, collector, sent, 'valid_after');
    expect(warnings(consoleLog)).toEqual(host.warning ? [host.warning] : []);
    expect(consoleLog.pageErrors).toEqual([]);
  });
}

test('a start failure is reported as one, not as a loading failure', async ({ page, collector, consoleLog }) => {
  const sent = wire(page);
  await open(page, collector, hostilePage({ before: "JSON.stringify = function () { throw new Error('hostile stringify'); };" }));
  await expect.poll(() => warnings(consoleLog).length).toBe(1);
  // The message, then the error with its stack.
  expect(warnings(consoleLog)[0].split('\n')[0]).toBe('rapport: the tracker could not start; tracking is off Error: hostile stringify');
  await page.evaluate(() => rapport.track('ignored'));
  await page.waitForTimeout(300);
  expect(sent.all).toEqual([]);
  expect(consoleLog.pageErrors).toEqual([]);
});
