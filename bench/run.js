// Side-by-side benchmarks of Rapport and the scripts a site owner would otherwise embed, in
// one run on one machine. `cargo xtask bench` builds dist/embed, installs the peers
// (bench/package.json, pinned), reruns the collector's ingest benchmark, then runs this file,
// which writes bench/results.json and bench/RESULTS.md.
//
// Every script is served from a loopback server, and every request a script makes goes there
// too: each is pointed at the loopback server (PostHog's api_host, Segment's CDN, Plausible's
// and Rapport's endpoints), and the browser resolves no other host name, so nothing leaves
// the machine. No request is intercepted by Playwright, which would hold every request for a
// round trip to this process.
//
// Environment: RAPPORT_EMBED_DIR (dist/embed), BENCH_RUNS (loads per configuration and CPU
// rate, 10), BENCH_SCROLL_RUNS (how many of those loads go on to a 10 s scroll, 3: ten would
// be 5 configurations × 2 rates × 10 × 10 s = 1,000 s of scrolling alone, more than the
// 15 minutes the whole command has on two cores; scrolling five pages side by side to save
// that time multiplied the baseline's script time per event by two to four in a trial, so
// they scroll one at a time), RAPPORT_COLLECTOR_JSON (the ingest results).
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { chromium } = require('@playwright/test');

const ROOT = path.resolve(__dirname, '..');
const EMBED = process.env.RAPPORT_EMBED_DIR || path.join(ROOT, 'dist/embed');
const PEERS = path.join(__dirname, 'node_modules');
const RUNS = Number(process.env.BENCH_RUNS || 10);
const SCROLL_RUNS = Number(process.env.BENCH_SCROLL_RUNS || 3);
const SCROLL_MS = 10_000;
const RATES = (process.env.BENCH_RATES || "1,4").split(",").map(Number);
// The same browser, presented the same way, as the end-to-end tests.
const { USER_AGENT } = require('../tests/e2e/browser');
const version = (name) => require(path.join(PEERS, name, 'package.json')).version;

// ---- Statistics.
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length });

// ---- 1. Payload.
function sizes(files) {
  return files.reduce((t, f) => {
    const bytes = fs.readFileSync(f);
    return {
      raw: t.raw + bytes.length,
      gzip: t.gzip + zlib.gzipSync(bytes, { level: 9 }).length,
      brotli: t.brotli + zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    };
  }, { raw: 0, gzip: 0, brotli: 0 });
}
const embed = (f) => path.join(EMBED, f);
const peer = (f) => path.join(PEERS, f);
const TRACKER = ['rapport.js', 'rapport_widget.js', 'rapport_widget_bg.wasm'].map(embed);
const FULL = TRACKER.concat(['rapport_ui.js', 'rapport_ui_bg.wasm'].map(embed));
const PAYLOAD = [
  ['Rapport tracker stage (loader + driver + wasm)', TRACKER],
  ['Rapport full widget (tracker + UI stage)', FULL],
  [`posthog-js ${version('posthog-js')} array.js`, [peer('posthog-js/dist/array.js')]],
  [`posthog-js ${version('posthog-js')} array.js + surveys.js`, [peer('posthog-js/dist/array.js'), peer('posthog-js/dist/surveys.js')]],
  [`@plausible-analytics/tracker ${version('@plausible-analytics/tracker')}`, [peer('@plausible-analytics/tracker/plausible.js')]],
  [`@segment/analytics-next ${version('@segment/analytics-next')} standalone.js`, [peer('@segment/analytics-next/dist/umd/standalone.js')]],
  [`@formbricks/surveys ${version('@formbricks/surveys')} index.umd.js`, [peer('@formbricks/surveys/dist/index.umd.js')]],
];

// ---- The pages: the demo article, with each configuration's script tags.
const article = fs.readFileSync(path.join(ROOT, 'www/journal.html'), 'utf8')
  .replace(/<script src="\/embed\/rapport.js"[^>]*><\/script>/, '<!--SCRIPTS-->')
  .replace('href="shop.css"', 'href="/demo/shop.css"');
if (!article.includes('<!--SCRIPTS-->')) throw new Error('www/journal.html no longer has the Rapport script tag this bench replaces');
const PROMPT = JSON.stringify({ prompts: [{ id: 'bench', type: 'nps', display: 'popover', question: { en: 'How likely are you to recommend us?' }, trigger: { engaged_seconds: 0 } }] });
const CONFIGS = {
  none: '',
  rapport: '<script src="/embed/rapport.js" data-site="bench" data-endpoint="/sink/rapport/v1/batch" data-compress="gzip" async></script>',
  posthog: `<script src="/peers/posthog-js/dist/array.js"></script><script src="/peers/posthog-js/dist/surveys.js"></script>
    <script>posthog.init('phc_bench', { api_host: location.origin + '/sink/posthog', disable_surveys: false, persistence: 'localStorage', opt_out_useragent_filter: true });</script>`,
  plausible: `<script type="module">import { init, track } from '/peers/@plausible-analytics/tracker/plausible.js';
    init({ domain: 'bench.example', endpoint: location.origin + '/sink/plausible/api/event', logging: false, captureOnLocalhost: true }); window.benchTrack = track;</script>`,
  segment: `<script>!function(){var a=window.analytics=[];a.methods=['track','page','identify'];a.factory=function(m){return function(){var args=[].slice.call(arguments);args.unshift(m);a.push(args);return a}};
    a.methods.forEach(function(m){a[m]=a.factory(m)});a._writeKey='bench_write_key';a._cdn=location.origin+'/segment-cdn';a.page();}();</script>
    <script src="/peers/@segment/analytics-next/dist/umd/standalone.js" data-global-segment-analytics-key="analytics"></script>`,
  // Rapport with a prompt due at once: the UI stage's fetch, instantiation and mount.
  'rapport+prompt': `<script src="/embed/rapport.js" data-site="bench" data-endpoint="/sink/rapport/v1/batch" data-config='${PROMPT}' async></script>`,
};
const LOAD_CONFIGS = ['none', 'rapport', 'posthog', 'plausible', 'segment'];
// PostHog's remote config for the bench project: surveys on, compression as its cloud offers.
const POSTHOG_CONFIG = {
  token: 'phc_bench', supportedCompression: ['gzip', 'gzip-js'], hasFeatureFlags: false, surveys: true,
  sessionRecording: false, heatmaps: false, autocapture_opt_out: false, autocaptureExceptions: false,
  capturePerformance: false, captureDeadClicks: false, elementsChainAsString: true, defaultIdentifiedOnly: true,
  analytics: { endpoint: '/i/v0/e/' }, siteApps: [],
};

// ---- The loopback server: pages, scripts, and a sink that counts what each script sends.
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.html': 'text/html' };
const sink = {};
const errors = [];
function serve(req, res) {
  const url = new URL(req.url, 'http://x');
  const file = (base, rel) => {
    const p = path.join(base, rel);
    if (!p.startsWith(base) || !fs.existsSync(p) || fs.statSync(p).isDirectory()) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[path.extname(p)] || 'application/octet-stream', 'cache-control': 'no-store' });
    fs.createReadStream(p).pipe(res);
  };
  if (url.pathname === '/article.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    return res.end(article.replace('<!--SCRIPTS-->', CONFIGS[url.searchParams.get('c')] || ''));
  }
  if (url.pathname.startsWith('/embed/')) return file(EMBED, url.pathname.slice(7));
  if (url.pathname.startsWith('/peers/')) return file(PEERS, url.pathname.slice(7));
  if (url.pathname.startsWith('/demo/')) return file(path.join(ROOT, 'www'), url.pathname.slice(6));
  if (url.pathname.startsWith('/segment-cdn/')) {
    // Segment's CDN: the source's settings (its API pointed at the sink) and the bundle's
    // lazily loaded chunks, from its package.
    if (url.pathname.includes('/analytics-next/bundles/')) return file(peer('@segment/analytics-next/dist/umd'), path.basename(url.pathname));
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({
      integrations: { 'Segment.io': { apiKey: 'bench_write_key', apiHost: `${req.headers.host}/sink/segment`, protocol: 'http' } },
      plan: {}, edgeFunction: {},
    }));
  }
  if (url.pathname.startsWith('/sink/')) {
    const tool = url.pathname.split('/')[2];
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const json = (status, value) => {
        res.writeHead(status, {
          'content-type': 'application/json', 'access-control-allow-origin': req.headers.origin || '*',
          'access-control-allow-credentials': 'true', 'access-control-allow-headers': '*',
        });
        res.end(JSON.stringify(value));
      };
      if (req.method === 'OPTIONS') return json(204, {});
      if (tool === 'posthog') {
        // PostHog's own endpoints, answered as its cloud does for a project with surveys
        // enabled and none running, no feature flags and no recordings.
        const p = url.pathname.slice('/sink/posthog'.length);
        if (p.startsWith('/static/')) return file(peer('posthog-js/dist'), path.basename(p));
        if (p === '/array/phc_bench/config.js') {
          res.writeHead(200, { 'content-type': 'text/javascript' });
          return res.end(`(window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {}).phc_bench = ${JSON.stringify({ config: POSTHOG_CONFIG, siteApps: [] })};`);
        }
        if (p === '/array/phc_bench/config') return json(200, POSTHOG_CONFIG);
        if (p.startsWith('/api/surveys')) return json(200, { surveys: [] });
        if (p.startsWith('/flags')) return json(200, { flags: {}, featureFlags: {}, featureFlagPayloads: {}, errorsWhileComputingFlags: false, requestId: 'bench' });
      }
      // Rapport's site config: none (no prompts), so its UI stage stays unloaded.
      if (url.pathname.endsWith('/config')) return json(404, {});
      if (req.method === 'POST' || (tool === 'plausible' && req.method === 'GET')) {
        // An event delivery: its request line, headers and body, and how many of the bench's
        // custom events it carried (gzip bodies decompressed first).
        const s = (sink[tool] = sink[tool] || { requests: 0, bytes: 0, events: 0 });
        s.requests += 1;
        s.bytes += Buffer.byteLength(`${req.method} ${req.url} HTTP/1.1\r\n`) + 2
          + req.rawHeaders.reduce((n, h) => n + Buffer.byteLength(h) + 2, 0) + body.length;
        let text = body.toString('latin1');
        if (body[0] === 0x1f && body[1] === 0x8b) text = zlib.gunzipSync(body).toString(); // gzip
        s.events += (text.match(/bench_event/g) || []).length + (req.method === 'GET' ? (decodeURIComponent(req.url).match(/bench_event/g) || []).length : 0);
      }
      json(200, {});
    });
    return;
  }
  res.writeHead(404).end();
}

const INIT = () => {
  // Every script runs as for a shopper: some skip automated browsers (navigator.webdriver).
  Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => false, configurable: true });
  window.__long = [];
  window.__scrolls = 0;
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push(e.duration); }).observe({ type: 'longtask', buffered: true });
  } catch (e) { /* no long-task timing */ }
  addEventListener('scroll', () => { window.__scrolls += 1; }, { passive: true, capture: true });
  // When the prompt's card appears (the UI stage's mount).
  new MutationObserver(() => {
    if (!window.__mounted && document.querySelector('rapport-ui')) window.__mounted = performance.now();
  }).observe(document, { childList: true, subtree: true });
};

// With BENCH_COUNT: how often the page's scripts call the browser APIs that cost on a hot
// path, read as window.__calls.
const COUNT = () => {
  const calls = (window.__calls = {});
  const wrap = (o, name, label) => {
    const f = o[name];
    o[name] = function (...a) { calls[label] = (calls[label] || 0) + 1; return f.apply(this, a); };
  };
  wrap(Storage.prototype, 'getItem', 'getItem');
  wrap(Storage.prototype, 'setItem', 'setItem');
  wrap(Storage.prototype, 'key', 'storage.key');
  wrap(window, 'setTimeout', 'setTimeout');
  wrap(window, 'clearTimeout', 'clearTimeout');
  wrap(window, 'requestAnimationFrame', 'requestAnimationFrame');
  wrap(JSON, 'stringify', 'JSON.stringify');
  wrap(JSON, 'parse', 'JSON.parse');
  if (navigator.locks) wrap(LockManager.prototype, 'request', 'locks.request');
  wrap(crypto, 'getRandomValues', 'getRandomValues');
  wrap(window, 'fetch', 'fetch');
};

async function open(browser, origin, config, rate) {
  const context = await browser.newContext({ userAgent: USER_AGENT, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // An uncaught error in any configuration fails the run: its figures would not be those of
  // a working script. Console output is shown with BENCH_DEBUG.
  page.on('pageerror', (e) => errors.push(`[${config}, ${rate}×] ${e}`));
  if (process.env.BENCH_DEBUG) page.on('console', (m) => console.log(`[${config}] ${m.type()}: ${m.text()}`));
  await page.addInitScript(INIT);
  if (process.env.BENCH_COUNT) await page.addInitScript(COUNT);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  if (rate > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate });
  await page.goto(`${origin}/article.html?c=${encodeURIComponent(config)}`, { waitUntil: "load" });
  return { context, page, cdp };
}
const metrics = async (cdp) => {
  const { metrics: m } = await cdp.send('Performance.getMetrics');
  const get = (name) => (m.find((x) => x.name === name) || { value: 0 }).value * 1000;
  return { script: get('ScriptDuration'), task: get('TaskDuration') };
};

// A scripted read-through: 40 px per animation frame down the article and back, for `ms`.
const READ_THROUGH = (ms) => new Promise((done) => {
  const end = performance.now() + ms;
  let dir = 1;
  const step = () => {
    if (performance.now() >= end) return done();
    const max = document.documentElement.scrollHeight - innerHeight;
    if (scrollY >= max) dir = -1;
    if (scrollY <= 0) dir = 1;
    scrollBy(0, 40 * dir);
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
});

// Mouse-wheel reading, the way most desktop readers scroll: notches of 120 px, one every
// 50 ms, down the article and back, for `ms`. The turning points are computed once, before
// the measurement, so no evaluation in the page adds script time while it runs.
const WHEEL_MS = 5_000;
async function wheelThrough(page, ms) {
  const notches = await page.evaluate(() => Math.ceil((document.documentElement.scrollHeight - innerHeight) / 120));
  await page.mouse.move(640, 400);
  const end = Date.now() + ms;
  for (let i = 0, dir = 1; Date.now() < end; i++) {
    if (i > 0 && i % Math.max(1, notches) === 0) dir = -dir;
    await page.mouse.wheel(0, 120 * dir);
    await page.waitForTimeout(50);
  }
}

// ---- 2. Main-thread cost at load, per scroll event, and the UI stage's mount.
// Each configuration is loaded RUNS times per CPU rate, in alternation; in the last
// SCROLL_RUNS rounds (the browser warmed up) the loaded page then scrolls for SCROLL_MS.
async function loadRuns(browser, origin) {
  const load = {}, scroll = {}, wheel = {};
  const slot = (out, config, rate, keys) =>
    ((out[config] = out[config] || {})[rate] = out[config][rate] || Object.fromEntries(keys.map((k) => [k, []])));
  for (const rate of RATES) {
    for (let run = 0; run < RUNS; run++) {
      for (const config of LOAD_CONFIGS) {
        const { context, page, cdp } = await open(browser, origin, config, rate);
        await page.waitForTimeout(1500); // asynchronous start-up (wasm, lazy chunks)
        const m = await metrics(cdp);
        const long = await page.evaluate(() => window.__long);
        const r = slot(load, config, rate, ['script', 'task', 'long']);
        r.script.push(m.script);
        r.task.push(m.task);
        r.long.push(long.length);
        if (run >= RUNS - SCROLL_RUNS) {
          const scrolls0 = await page.evaluate(() => window.__scrolls);
          await page.evaluate(READ_THROUGH, SCROLL_MS);
          const after = await metrics(cdp);
          const s = slot(scroll, config, rate, ['script', 'task', 'events']);
          s.script.push(after.script - m.script);
          s.task.push(after.task - m.task);
          s.events.push((await page.evaluate(() => window.__scrolls)) - scrolls0);
          const w0 = await metrics(cdp);
          const wheels0 = await page.evaluate(() => window.__scrolls);
          await wheelThrough(page, WHEEL_MS);
          const w1 = await metrics(cdp);
          const wh = slot(wheel, config, rate, ['script', 'task', 'events']);
          wh.script.push(w1.script - w0.script);
          wh.task.push(w1.task - w0.task);
          wh.events.push((await page.evaluate(() => window.__scrolls)) - wheels0);
        }
        await context.close();
      }
    }
  }
  return { load, scroll, wheel };
}

// While working on the tracker's hot path: the scroll phases alone, for the baseline, Rapport
// and Plausible (`BENCH_ONLY=scroll`), printing the added script per scroll event; with
// `BENCH_PROFILE=1`, also the functions that took Rapport's script time during the wheel
// phase (CDP's sampling profiler, self time).
async function scrollOnly(browser, origin) {
  const configs = ['none', 'rapport', 'plausible'];
  const per = {};
  for (const rate of RATES) {
    for (let run = 0; run < SCROLL_RUNS; run++) {
      for (const config of configs) {
        const { context, page, cdp } = await open(browser, origin, config, rate);
        await page.waitForTimeout(1500);
        const profile = process.env.BENCH_PROFILE && config === 'rapport' && run === 0;
        for (const [phase, go] of [['smooth', () => page.evaluate(READ_THROUGH, SCROLL_MS)], ['wheel', () => wheelThrough(page, WHEEL_MS)]]) {
          if (profile && phase === 'wheel') {
            await cdp.send('Profiler.enable');
            await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
            await cdp.send('Profiler.start');
          }
          const m0 = await metrics(cdp);
          const e0 = await page.evaluate(() => window.__scrolls);
          const c0 = process.env.BENCH_COUNT && await page.evaluate(() => ({ ...window.__calls }));
          await go();
          const m1 = await metrics(cdp);
          if (c0) {
            const c1 = await page.evaluate(() => ({ ...window.__calls }));
            console.log(`${config} ${phase} ${rate}x calls:`, JSON.stringify(Object.fromEntries(Object.entries(c1).map(([k, v]) => [k, v - (c0[k] || 0)]).filter(([, v]) => v))));
          }
          const events = (await page.evaluate(() => window.__scrolls)) - e0;
          ((per[`${phase} ${rate}x`] = per[`${phase} ${rate}x`] || {})[config] = per[`${phase} ${rate}x`][config] || []).push((m1.script - m0.script) / events);
          if (profile && phase === 'wheel') {
            const { profile: p } = await cdp.send('Profiler.stop');
            const self = {};
            const dt = {};
            p.samples.forEach((id, i) => { dt[id] = (dt[id] || 0) + (p.timeDeltas[i] || 0); });
            for (const n of p.nodes) {
              const f = n.callFrame;
              const key = `${f.functionName || '(anonymous)'} ${path.basename(f.url)}:${f.columnNumber}`;
              self[key] = (self[key] || 0) + (dt[n.id] || 0);
            }
            // Inclusive time by entry point: the first two frames under the root.
            const parent = {};
            for (const n of p.nodes) for (const c of n.children || []) parent[c] = n.id;
            const byId = Object.fromEntries(p.nodes.map((n) => [n.id, n]));
            const name = (n) => `${n.callFrame.functionName || '(anonymous)'}@${path.basename(n.callFrame.url)}:${n.callFrame.columnNumber}`;
            const entry = {};
            for (const n of p.nodes) {
              const chain = [];
              for (let id = n.id; id !== undefined; id = parent[id]) chain.unshift(byId[id]);
              const key = chain.slice(1, 4).map(name).join(' > ');
              if (!key.startsWith('(idle)') && !key.startsWith('(program)')) entry[key] = (entry[key] || 0) + (dt[n.id] || 0);
            }
            console.log(`entry points (inclusive ms):`);
            for (const [k, us] of Object.entries(entry).sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${(us / 1000).toFixed(2).padStart(8)}  ${k}`);
            const top = Object.entries(self).filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 30);
            console.log(`profile of rapport, wheel, ${rate}x (self ms over ${events} scroll events):`);
            for (const [k, us] of top) console.log(`  ${(us / 1000).toFixed(2).padStart(8)}  ${k}`);
          }
        }
        await context.close();
      }
    }
  }
  for (const [phase, byConfig] of Object.entries(per)) {
    const base = median(byConfig.none);
    console.log(phase, Object.entries(byConfig).map(([c, xs]) => `${c} ${(median(xs) - base).toFixed(4)} ms added (${xs.map((x) => x.toFixed(4)).join(', ')})`).join('; '));
  }
}

async function uiRuns(browser, origin) {
  const out = {};
  for (const rate of RATES) {
    const r = (out[rate] = { mount: [], fetched: [], long: [] });
    for (let run = 0; run < RUNS; run++) {
      const { context, page } = await open(browser, origin, 'rapport+prompt', rate);
      await page.waitForFunction(() => window.__mounted, null, { timeout: 20_000 }).catch(async (e) => {
        console.error(await page.evaluate(() => JSON.stringify({
          resources: performance.getEntriesByType('resource').map((x) => x.name),
          rapport: Object.keys(window.rapport || {}), storage: Object.keys(localStorage),
          script: document.querySelector('script[data-site]') && document.querySelector('script[data-site]').outerHTML.slice(0, 300),
        })));
        throw e;
      });
      const t = await page.evaluate(() => {
        const entry = (name) => performance.getEntriesByType('resource').find((e) => e.name.endsWith(name));
        const ui = entry('/rapport_ui.js'), wasm = entry('/rapport_ui_bg.wasm');
        return {
          // From the first of the two requests (the wasm's starts just before the glue's).
          mount: window.__mounted - Math.min(ui.startTime, wasm.startTime),
          fetched: Math.max(ui.responseEnd, wasm.responseEnd) - Math.min(ui.startTime, wasm.startTime),
          long: window.__long.length,
        };
      });
      r.mount.push(t.mount);
      r.fetched.push(t.fetched);
      r.long.push(t.long);
      await context.close();
    }
  }
  return out;
}

// ---- 3. Delivery: requests and bytes for 100 custom events plus the page's own events.
const SEND = {
  rapport: () => { for (let i = 0; i < 100; i++) rapport.track('bench_event', { i }); },
  posthog: () => { for (let i = 0; i < 100; i++) posthog.capture('bench_event', { i }); },
  plausible: () => { for (let i = 0; i < 100; i++) window.benchTrack('bench_event', { props: { i: String(i) } }); },
  segment: () => { for (let i = 0; i < 100; i++) analytics.track('bench_event', { i }); },
};
async function delivery(browser, origin) {
  const out = {};
  for (const config of Object.keys(SEND)) {
    delete sink[config];
    const { context, page } = await open(browser, origin, config, 1);
    await page.waitForTimeout(2000);
    await page.evaluate(SEND[config]);
    await page.mouse.wheel(0, 2000);
    await page.waitForTimeout(6000); // each script's own batching interval
    // Hidden, as switching tabs would make it; then closed.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await page.close({ runBeforeUnload: true });
    await new Promise((r) => setTimeout(r, 1500));
    await context.close();
    out[config] = { ...(sink[config] || { requests: 0, bytes: 0, events: 0 }) };
  }
  return out;
}

// ---- The report.
const ms = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const kb = (b) => (b / 1000).toFixed(1);
const range = (s, f = ms) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

function report(r) {
  const lines = [];
  const add = (s = '') => lines.push(s);
  const goal = (ok) => (ok ? 'met' : '**missed**');
  add('# Benchmarks');
  add();
  add(`One run of \`cargo xtask bench\` on ${r.machine}, ${r.date}. Chromium ${r.chromium}, headless.`);
  add(`Loads: ${RUNS} per configuration and CPU rate, configurations in alternation; the last ${SCROLL_RUNS} loads of each then scroll for ${SCROLL_MS / 1000} s. Medians, with min–max.`);
  if (SCROLL_RUNS < 10) {
    add(`Scrolls: ${SCROLL_RUNS} per configuration and rate, not the 10 asked for: ten would take ${(LOAD_CONFIGS.length * RATES.length * 10 * SCROLL_MS) / 1000} s of scrolling alone, more than the 15 minutes the whole command has on this machine, and pages scrolled side by side to save the time multiplied the baseline's script time per event by two to four in a trial. \`BENCH_SCROLL_RUNS=10 cargo xtask bench\` runs them all (about ${Math.round(((10 - SCROLL_RUNS) * LOAD_CONFIGS.length * RATES.length * SCROLL_MS) / 60000)} minutes more).`);
  }
  add('Every script, and every request a script makes, is served from loopback; the browser resolves no other host name, so nothing leaves the machine.');
  add();
  add('## Payload (bytes; gzip -9 and brotli 11, each file compressed on its own)');
  add();
  add('| | raw | gzip | brotli | Rapport tracker ÷ this (gzip) | Rapport full ÷ this (gzip) |');
  add('|---|---|---|---|---|---|');
  const [tracker, full] = r.payload;
  for (const p of r.payload) {
    add(`| ${p.name} | ${p.raw} | ${p.gzip} | ${p.brotli} | ${(tracker.gzip / p.gzip).toFixed(2)} | ${(full.gzip / p.gzip).toFixed(2)} |`);
  }
  add();
  add('Rapport ÷ each peer in every encoding (tracker stage / full widget):');
  add();
  add('| | raw | gzip | brotli |');
  add('|---|---|---|---|');
  for (const p of r.payload.slice(2)) {
    const ratio = (k) => `${(tracker[k] / p[k]).toFixed(2)} / ${(full[k] / p[k]).toFixed(2)}`;
    add(`| ${p.name} | ${ratio('raw')} | ${ratio('gzip')} | ${ratio('brotli')} |`);
  }
  add();
  add(`Goals: tracker stage ≤ 8 KB gzip: ${kb(tracker.gzip)} KB, ${goal(tracker.gzip <= 8000)}. Full widget ≤ 45 KB gzip: ${kb(full.gzip)} KB, ${goal(full.gzip <= 45000)}.`);
  add();
  add('## Main-thread cost at load (ms, added over the page without scripts)');
  add();
  add('CDP `Performance.getMetrics` 1.5 s after load: script time and task time; long tasks (≥ 50 ms) from the Long Tasks API. Segment and Plausible send their first events within that window; Rapport (5 s batch wait) and PostHog (3 s) send theirs later, so their first send is not in these figures (it falls in the first seconds of the scroll below, one send among some 600 scroll events).');
  add();
  add('| configuration | CPU | script ms | task ms | added script ms | added task ms | long tasks |');
  add('|---|---|---|---|---|---|---|');
  for (const rate of RATES) {
    const base = r.load.none[rate];
    for (const c of LOAD_CONFIGS) {
      const x = r.load[c][rate];
      add(`| ${c} | ${rate}× | ${range(summary(x.script))} | ${range(summary(x.task))} | ${ms(median(x.script) - median(base.script))} | ${ms(median(x.task) - median(base.task))} | ${median(x.long)} (${Math.min(...x.long)}–${Math.max(...x.long)}) |`);
    }
  }
  const init4 = median(r.load.rapport[4].script) - median(r.load.none[4].script);
  add();
  add(`Goal: tracker init ≤ 5 ms under 4× throttling: ${ms(init4)} ms of added script time (loader, driver and engine start, wasm compilation, and the first events built and stored, not yet sent), ${goal(init4 <= 5)}; long tasks: ${median(r.load.rapport[4].long)} (no script: ${median(r.load.none[4].long)}).`);
  add();
  add('## Per scroll event');
  add();
  add('A scripted 10 s read-through (40 px per animation frame, down and back). Script time is what the page\'s scripts ran; task time adds style, layout and paint, which the scroll itself causes in every configuration. Added: per scroll event dispatched, over the page without scripts.');
  add();
  add('| configuration | CPU | scroll events | script ms per event | added script ms per event | task ms per event |');
  add('|---|---|---|---|---|---|');
  const per = (x, k) => x[k].map((t, i) => t / Math.max(1, x.events[i]));
  for (const rate of RATES) {
    const base = median(per(r.scroll.none[rate], 'script'));
    for (const c of LOAD_CONFIGS) {
      const x = r.scroll[c][rate];
      add(`| ${c} | ${rate}× | ${median(x.events)} | ${range(summary(per(x, 'script')), (v) => v.toFixed(4))} | ${(median(per(x, 'script')) - base).toFixed(4)} | ${range(summary(per(x, 'task')), (v) => v.toFixed(3))} |`);
    }
  }
  const scroll1 = median(per(r.scroll.rapport[1], 'script')) - median(per(r.scroll.none[1], 'script'));
  add();
  add(`Goal: ≤ 0.05 ms per scroll event (1×, script time): ${scroll1.toFixed(4)} ms, ${goal(scroll1 <= 0.05)}.`);
  add();
  add('## Per wheel-driven scroll event');
  add();
  add(`After the read-through, ${WHEEL_MS / 1000} s of mouse-wheel input on the same page: notches of 120 px, one every 50 ms, down and back. Each notch is a wheel event and, with the browser\'s smooth scrolling, several scroll events. Script time per scroll event, as above.`);
  add();
  add('| configuration | CPU | scroll events | script ms per event | added script ms per event | task ms per event |');
  add('|---|---|---|---|---|---|');
  for (const rate of RATES) {
    const base = median(per(r.wheel.none[rate], 'script'));
    for (const c of LOAD_CONFIGS) {
      const x = r.wheel[c][rate];
      add(`| ${c} | ${rate}× | ${median(x.events)} | ${range(summary(per(x, 'script')), (v) => v.toFixed(4))} | ${(median(per(x, 'script')) - base).toFixed(4)} | ${range(summary(per(x, 'task')), (v) => v.toFixed(3))} |`);
    }
  }
  for (const rate of RATES) {
    const added = (c) => median(per(r.wheel[c][rate], 'script')) - median(per(r.wheel.none[rate], 'script'));
    if (r.wheel.plausible) {
      add();
      add(`Goal at ${rate}×: no more added script per wheel-driven scroll event than Plausible: Rapport ${added('rapport').toFixed(4)} ms, Plausible ${added('plausible').toFixed(4)} ms, ${goal(added('rapport') <= added('plausible'))}.`);
    }
  }
  add();
  add('## Rapport UI stage: fetch, instantiation and mount of a prompt');
  add();
  add('From the start of the UI stage\'s first request (its wasm, then `rapport_ui.js`) to the card in the DOM (a prompt due at once, inline config).');
  add();
  add('| CPU | ms to the card | of which both files fetched | long tasks during the page load |');
  add('|---|---|---|---|');
  for (const rate of RATES) add(`| ${rate}× | ${range(summary(r.ui[rate].mount))} | ${range(summary(r.ui[rate].fetched))} | ${median(r.ui[rate].long)} |`);
  const ui4 = median(r.ui[4].mount);
  add();
  add(`Goal: UI mount ≤ 30 ms under 4× throttling: ${ms(ui4)} ms, ${goal(ui4 <= 30)}. This includes the two requests on loopback.`);
  add();
  add('## Delivery: 100 custom events plus the page\'s own events');
  add();
  add('What the sink received after 100 `track` calls, a scroll, 6 s, hiding and closing the page: the requests that delivered events, their bytes on the wire (request line, headers and body, as sent; PostHog gzips its batches), and how many of the 100 custom events arrived. Configuration and consent requests are not counted for any script.');
  add();
  add('| configuration | requests | bytes | custom events received |');
  add('|---|---|---|---|');
  for (const [c, d] of Object.entries(r.delivery)) add(`| ${c} | ${d.requests} | ${d.bytes} | ${d.events} |`);
  add();
  const d = r.delivery.rapport;
  add(`Goal: ≤ 5 requests per 100 events: Rapport ${d.requests}, with ${d.events} of the 100 received, ${goal(d.requests <= 5 && d.events === 100)}.`);
  add();
  add(`Bytes (Rapport with data-compress="gzip", its batches gzipped as PostHog's are): ${(d.bytes / r.delivery.posthog.bytes).toFixed(2)} × PostHog's and ${(d.bytes / r.delivery.segment.bytes).toFixed(2)} × Segment's one request per event. Goal: no more bytes than PostHog: ${goal(d.bytes <= r.delivery.posthog.bytes)}.`);
  if (r.collector) {
    add();
    add('## Collector ingest');
    add();
    add(`${r.collector.batches} batches of ${r.collector.events_per_batch} events, ${r.collector.concurrency} in flight.`);
    add();
    add('| storage | path | events/s | p50 ms | p99 ms |');
    add('|---|---|---|---|---|');
    for (const x of r.collector.results) {
      for (const [p, v] of [['raw insert', x.raw], ['HTTP POST /v1/batch', x.http]]) {
        add(`| ${x.storage} | ${p} | ${v.events_per_s.toFixed(0)} | ${v.p50_ms.toFixed(2)} | ${v.p99_ms.toFixed(2)} |`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

(async () => {
  const started = Date.now();
  const server = http.createServer(serve);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--enable-blink-features=LongTaskTiming',
      // No host name resolves: a request the harness did not point at loopback fails at once.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  const step = (s) => console.log(`==> bench: ${s} (${Math.round((Date.now() - started) / 1000)} s)`);
  try {
    const result = {
      date: new Date().toISOString().slice(0, 10),
      machine: `${require('node:os').cpus().length} cores, ${Math.round(require('node:os').totalmem() / 2 ** 30)} GiB`,
      chromium: browser.version(),
      payload: PAYLOAD.map(([name, files]) => ({ name, ...sizes(files) })),
    };
    // One part alone, printed rather than written, while working on the harness.
    if (process.env.BENCH_ONLY == 'ui') return console.log(JSON.stringify(await uiRuns(browser, origin)));
    if (process.env.BENCH_ONLY == 'scroll') return await scrollOnly(browser, origin);
    if (process.env.BENCH_ONLY == 'delivery') return console.log(JSON.stringify(await delivery(browser, origin)));
    step('delivery');
    result.delivery = await delivery(browser, origin);
    step('UI stage mount');
    result.ui = await uiRuns(browser, origin);
    step('main-thread cost at load and per scroll event');
    Object.assign(result, await loadRuns(browser, origin));
    const collector = process.env.RAPPORT_COLLECTOR_JSON;
    if (collector && fs.existsSync(collector)) result.collector = JSON.parse(fs.readFileSync(collector, 'utf8'));
    if (errors.length) throw new Error(`uncaught errors in the pages, so no results were written:\n${[...new Set(errors)].join('\n')}`);
    const markdown = report(result);
    fs.writeFileSync(path.join(__dirname, 'results.json'), JSON.stringify(result, null, 2) + '\n');
    fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), markdown);
    step('wrote bench/RESULTS.md and bench/results.json');
  } finally {
    await browser.close();
    server.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
