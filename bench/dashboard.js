// The dashboard's time to first render on a large site: a collector on SQLite holding
// 1,000,000 events of site "demo" (RAPPORT_BENCH_DASHBOARD_EVENTS to change), and Chromium
// opening the dashboard for the 30 days ending today, three times, each in a fresh browser
// context (empty cache). Per run it measures
//   (a) figures: from navigation start to `data-figures` appearing on <body>, which the
//       dashboard sets once the stats have arrived and its headline cards and charts show;
//   (b) first render of every section: to `data-loaded`, set once all its sections (stats,
//       events, experiments, live, feedback, prompts, breakdown; read at once) are shown;
//   (c) the `/v1/sites/demo/stats` request for that range as the browser saw it (Resource
//       Timing: duration, and time to first byte).
// For scale it also times that stats request once on its own (from Node, collector idle).
// Not a test: it reports, it does not judge.
//
// The events are seeded with `rapport-collector import --site demo -` (one JSON event a line
// on its standard input) into target/bench/dashboard.db, before the collector starts: the
// sessions spread over the whole 30-day range asked for. A database left by an earlier run
// is reused when it already holds at least that many events of site "demo" in the range,
// which makes reruns fast; the output says which.
//
// The collector is target/server/rapport-collector when it is newer than the collector's and
// core's sources, else target/debug/rapport-collector (said in the output; this script never
// builds). RAPPORT_COLLECTOR_BIN overrides both, RAPPORT_DASHBOARD_DIR the dashboard
// (dist/dashboard).
//
// Usage: node bench/dashboard.js   (writes target/bench/dashboard.json)
// Environment: RAPPORT_BENCH_DASHBOARD_EVENTS (1000000), RAPPORT_BENCH_DASHBOARD_RUNS (3),
// RAPPORT_BENCH_DASHBOARD_TIMEOUT_S (per run, 1800).
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('@playwright/test');
const { USER_AGENT, ownBrowser } = require('../tests/e2e/browser');

const ROOT = path.resolve(__dirname, '..');
const OUT_DIR = path.join(ROOT, 'target/bench');
const DB_FILE = path.join(OUT_DIR, 'dashboard.db');
const CONFIG_FILE = path.join(OUT_DIR, 'dashboard-rapport.toml');
const RESULT_FILE = path.join(OUT_DIR, 'dashboard.json');
const DASHBOARD_DIR = process.env.RAPPORT_DASHBOARD_DIR || path.join(ROOT, 'dist/dashboard');

const EVENTS = Number(process.env.RAPPORT_BENCH_DASHBOARD_EVENTS || 1_000_000);
const RUNS = Number(process.env.RAPPORT_BENCH_DASHBOARD_RUNS || 3);
const RUN_TIMEOUT_MS = Number(process.env.RAPPORT_BENCH_DASHBOARD_TIMEOUT_S || 1800) * 1000;
const SITE = 'demo';
const DAY = 86_400_000;

const median = (xs) => {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, digits = 1) => (x == null ? null : Number(x.toFixed(digits)));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const date = (day) => new Date(day * DAY).toISOString().slice(0, 10);

// ---- The collector binary.

/** Newest modification time of the files under `dir`. */
function newest(dir) {
  let t = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

function collectorBinary() {
  if (process.env.RAPPORT_COLLECTOR_BIN) {
    return { bin: process.env.RAPPORT_COLLECTOR_BIN, note: 'RAPPORT_COLLECTOR_BIN' };
  }
  const sources = Math.max(...['collector/src', 'collector/migrations', 'core/src'].map((d) => newest(path.join(ROOT, d))));
  const fresh = (bin) => fs.existsSync(bin) && fs.statSync(bin).mtimeMs >= sources;
  const server = path.join(ROOT, 'target/server/rapport-collector');
  const debug = path.join(ROOT, 'target/debug/rapport-collector');
  if (fresh(server)) return { bin: server, note: 'server profile (optimised)' };
  const why = fs.existsSync(server) ? 'target/server/rapport-collector is older than the sources' : 'target/server/rapport-collector is missing';
  if (fs.existsSync(debug)) {
    return { bin: debug, note: `DEBUG build (${why}; ${fresh(debug) ? 'the debug one is current' : 'the debug one is stale too'}): not representative of production speed` };
  }
  throw new Error(`${why}, and there is no target/debug/rapport-collector; build one first`);
}

// ---- The collector process.

/** Starts the collector on DB_FILE; resolves with { child, url } once it listens. */
function startCollector(bin) {
  fs.writeFileSync(CONFIG_FILE, `[[site]]\nid = "${SITE}"\norigins = ["*"]\n`);
  const child = spawn(bin, [
    '--config', CONFIG_FILE,
    '--listen', '127.0.0.1:0',
    '--database-url', `sqlite://${DB_FILE}`,
    '--dashboard-dir', DASHBOARD_DIR,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let stderr = '';
  // Errors it logs (storage unavailable, …): counted, the first few kept for the report.
  child.errors = { count: 0, first: [] };
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-20_000);
    for (const line of String(d).replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
      if (!/\bERROR\b/.test(line)) continue;
      child.errors.count += 1;
      if (child.errors.first.length < 3) child.errors.first.push(line.trim().slice(0, 400));
    }
  });
  child.stderrTail = () => stderr;
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume(); // keep draining
        resolve({ child, url: m[1] });
      }
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`collector exited (${code ?? signal}): ${stderr}`)));
  });
}

async function stopCollector(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** CPU time (ms) the process has used so far, from /proc. */
function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, at 100 Hz
  } catch {
    return 0;
  }
}

/** Waits until the collector has used under 5 % CPU for 2 s (queries left over from a
 * closed page keep running on the server); resolves with the ms waited. */
async function waitIdle(pid, maxMs = 600_000) {
  const started = Date.now();
  let quiet = 0;
  let last = cpuMs(pid);
  while (Date.now() - started < maxMs) {
    await sleep(1000);
    const now = cpuMs(pid);
    quiet = now - last < 50 ? quiet + 1 : 0;
    last = now;
    if (quiet >= 2) break;
  }
  return Date.now() - started;
}

// ---- The seeded events.

/** The reuse check: events of the site in the range, counted with the sqlite3 shell;
 * null when there is no file or no sqlite3. */
function storedEvents(fromMs) {
  if (!fs.existsSync(DB_FILE)) return null;
  try {
    const sql = `SELECT count(*) FROM events WHERE site = '${SITE}' AND ts >= ${fromMs};`;
    return Number(execFileSync('sqlite3', ['-readonly', DB_FILE, sql], { encoding: 'utf8' }).trim());
  } catch (e) {
    console.log(`  (cannot count the events in ${path.relative(ROOT, DB_FILE)}: ${String(e.message).split('\n')[0]})`);
    return null;
  }
}

const uuid = (kind, v) => `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${v.toString(16).padStart(12, '0')}`;

/** Event `n`, of a session that ends `spread` ms or less before `now`: as
 * collector/benches/stats.rs `event()` has it. Sessions of 10 events (2 page views, scroll
 * milestones, engagement, a feedback answer in every 7th session), 3 sessions a visitor, 400
 * paths; here also a referrer and a utm_source in some sessions. */
function event(n, now, spread) {
  const session = Math.floor(n / 10);
  const step = n % 10;
  let name;
  let props;
  if (step === 0 || step === 5) {
    [name, props] = ['page_view', {}];
  } else if (step === 1 || step === 6) {
    [name, props] = ['scroll_milestone', { depth: 25 * (1 + (session % 4)) }];
  } else if (step === 9 && session % 7 === 0) {
    [name, props] = ['feedback_submitted', { type: 'nps', score: session % 11 }];
  } else {
    [name, props] = ['page_engagement', { engaged_ms: (n * 137) % 60_000, scroll_max: (n * 7) % 101 }];
  }
  // A session ends a pseudo-random time before now; its events are 10 s apart.
  const age = (session * 2_654_435_761) % spread;
  const utm = ['?utm_source=mail', '?utm_source=google', '', '', ''][session % 5];
  const e = {
    id: uuid(1, n),
    name,
    ts: now - age - 100_000 + step * 10_000,
    visitor_id: uuid(2, Math.floor(session / 3)),
    session_id: uuid(3, session),
    pageview_id: uuid(4, Math.floor(n / 5)),
    returning: session % 3 !== 0,
    url: `https://shop.example/p/${Math.floor(n / 5) % 400}${utm}`,
    props,
  };
  if (name === 'page_view' && session % 4 === 0) e.referrer = 'https://www.google.com/';
  return e;
}

/** Stores events 0..total with `rapport-collector import`, spread over the range that starts
 * at `fromMs`, writing them to its standard input as it takes them. */
async function seed(bin, total, fromMs) {
  fs.writeFileSync(CONFIG_FILE, `[[site]]\nid = "${SITE}"\norigins = ["*"]\n`);
  const started = Date.now();
  const child = spawn(bin, ['--config', CONFIG_FILE, '--database-url', `sqlite://${DB_FILE}`, 'import', '--site', SITE, '-'],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err = (err + d).slice(-5_000); });
  const exited = new Promise((resolve) => child.once('close', resolve));
  const spread = started - fromMs - 200_000;
  const step = Math.max(1, Math.floor(total / 10));
  for (let n = 0; n < total; n += 1000) {
    let lines = '';
    for (let i = n; i < Math.min(total, n + 1000); i++) lines += `${JSON.stringify(event(i, started, spread))}\n`;
    if (!child.stdin.write(lines)) await new Promise((resolve) => child.stdin.once('drain', resolve));
    if ((n + 1000) % step < 1000) console.log(`  ${Math.min(total, n + 1000)} events written, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  child.stdin.end();
  const code = await exited;
  const summary = out.trim().split('\n').pop() || '';
  // "N lines: S events stored, D already stored, R refused"
  const m = summary.match(/^(\d+) lines: (\d+) events stored, (\d+) already stored, (\d+) refused$/);
  if (code !== 0 || !m) throw new Error(`import exited ${code}: ${out.slice(-2_000)} ${err}`);
  const ms = Date.now() - started;
  const stored = Number(m[2]);
  return { lines: Number(m[1]), stored, duplicates: Number(m[3]), refused: Number(m[4]), ms, events_per_s: Math.round((stored / ms) * 1000) };
}

/** The range's stats asked for once, from Node: the query's own cost, for scale. */
async function statsAlone(url, range) {
  const started = performance.now();
  const res = await fetch(`${url}/v1/sites/${SITE}/stats?from=${range.from}&to=${range.to}`, { signal: AbortSignal.timeout(RUN_TIMEOUT_MS) });
  await res.arrayBuffer();
  return { ms: round(performance.now() - started), status: res.status };
}

// ---- One dashboard load in Chromium.

async function measure(browser, url, range, collector) {
  const context = await browser.newContext({ userAgent: USER_AGENT, viewport: { width: 1200, height: 900 } });
  try {
    // Notes the moment `data-loaded` first appears, on the page's own clock (performance.now()
    // counts from navigation start), rather than when Playwright next polls.
    await context.addInitScript(() => {
      // `data-figures`: the headline figures and charts are shown (the stats arrived);
      // `data-loaded`: every section is.
      new MutationObserver((_, observer) => {
        if (!document.body) return;
        if (window.__rapportFiguresAt === undefined && document.body.hasAttribute('data-figures')) {
          window.__rapportFiguresAt = performance.now();
        }
        if (document.body.hasAttribute('data-loaded')) {
          window.__rapportLoadedAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-loaded', 'data-figures'] });
    });
    const page = await context.newPage();
    const statsRequests = [];
    page.on('request', (r) => { if (r.url().includes(`/v1/sites/${SITE}/stats`)) statsRequests.push(Date.now()); });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));

    const dashboard = `${url}/?site=${SITE}&from=${range.from}&to=${range.to}`;
    await page.goto(dashboard, { waitUntil: 'commit' });
    try {
      await page.waitForSelector('body[data-loaded]', { state: 'attached', timeout: RUN_TIMEOUT_MS });
    } catch (e) {
      const status = await page.locator('#status').textContent().catch(() => '');
      throw new Error(`no first render within ${RUN_TIMEOUT_MS / 1000} s (status line: "${status}"; page errors: ${pageErrors.join('; ') || 'none'}; collector: ${collector.stderrTail().slice(-500)})`);
    }
    const timing = await page.evaluate(() => ({
      loadedAt: window.__rapportLoadedAt,
      figuresAt: window.__rapportFiguresAt,
      timeOrigin: performance.timeOrigin,
      resources: performance.getEntriesByType('resource').map((e) => ({
        url: e.name,
        start_ms: e.startTime,
        duration_ms: e.duration,
        ttfb_ms: e.responseStart - e.requestStart,
        status: e.responseStatus,
      })),
    }));
    const loadedWall = timing.timeOrigin + timing.loadedAt;
    const api = timing.resources
      .filter((r) => r.url.includes('/v1/sites/') && r.start_ms <= timing.loadedAt)
      .map((r) => ({ ...r, url: r.url.slice(url.length) }));
    const stats = api.find((r) => r.url.startsWith(`/v1/sites/${SITE}/stats?from=${range.from}&to=${range.to}`));
    const previous = api.find((r) => r.url.startsWith(`/v1/sites/${SITE}/stats?`) && r !== stats);
    const wasm = timing.resources.find((r) => r.url.endsWith('.wasm'));
    return {
      figures_ms: round(timing.figuresAt),
      first_render_ms: round(timing.loadedAt),
      stats_ms: round(stats?.duration_ms),
      stats_ttfb_ms: round(stats?.ttfb_ms),
      stats_status: stats?.status ?? null,
      previous_stats_ms: round(previous?.duration_ms),
      wasm_ms: round(wasm?.duration_ms),
      // How many stats requests the page started by then (one, unless a view change or a refresh interleaved).
      stats_requests_before_render: statsRequests.filter((t) => t <= loadedWall).length,
      page_errors: pageErrors,
      api_requests: api.map((r) => ({ url: r.url, start_ms: round(r.start_ms), duration_ms: round(r.duration_ms), status: r.status })),
    };
  } finally {
    await context.close();
  }
}

// ---- The run.

async function main() {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const { bin, note } = collectorBinary();
  console.log(`collector: ${path.relative(ROOT, bin)} — ${note}`);
  const today = Math.floor(Date.now() / DAY);
  const range = { from: date(today - 29), to: date(today) };

  const stored = storedEvents((today - 29) * DAY);
  const reused = stored != null && stored >= EVENTS;
  if (reused) {
    console.log(`database: reusing ${path.relative(ROOT, DB_FILE)}, which holds ${stored} events of "${SITE}" in ${range.from}..${range.to}`);
  } else {
    console.log(`database: seeding a fresh ${path.relative(ROOT, DB_FILE)} with ${EVENTS} events${stored != null ? ` (the one there held ${stored})` : ''}`);
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(DB_FILE + suffix, { force: true });
  }

  let collector;
  let browser;
  const cleanup = () => { if (collector && collector.exitCode === null) collector.kill('SIGKILL'); };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { cleanup(); process.exit(130); });
  try {
    let seeding = null;
    if (!reused) {
      seeding = await seed(bin, EVENTS, (today - 29) * DAY);
      console.log(`seeded ${seeding.stored} events with rapport-collector import in ${(seeding.ms / 1000).toFixed(1)} s ` +
        `(${seeding.events_per_s} events/s, generating them included); ${seeding.duplicates} already stored, ${seeding.refused} refused`);
    }
    const started = await startCollector(bin);
    collector = started.child;
    const url = started.url;
    console.log(`collector listening on ${url}`);
    const events = storedEvents((today - 29) * DAY);

    const waitedAlone = await waitIdle(collector.pid);
    console.log(`stats alone: collector idle after ${(waitedAlone / 1000).toFixed(0)} s; asking for ${range.from}..${range.to}…`);
    const alone = await statsAlone(url, range);
    console.log(`stats alone: HTTP ${alone.status} in ${alone.ms} ms`);

    browser = await chromium.launch(ownBrowser());
    const runs = [];
    for (let i = 1; i <= RUNS; i++) {
      const waited = await waitIdle(collector.pid);
      console.log(`run ${i}: collector idle after ${(waited / 1000).toFixed(0)} s; opening the dashboard…`);
      const run = await measure(browser, url, range, collector);
      runs.push(run);
      console.log(`run ${i}: figures ${run.figures_ms} ms, every section ${run.first_render_ms} ms, stats ${run.stats_ms} ms`);
    }

    const result = {
      measured_at: new Date().toISOString(),
      command: `node ${path.relative(process.cwd(), __filename)}`,
      collector: { bin: path.relative(ROOT, bin), note },
      storage: 'SQLite',
      database: path.relative(ROOT, DB_FILE),
      reused_database: reused,
      events_requested: EVENTS,
      events,
      range,
      seeding: seeding && { method: 'rapport-collector import', ...seeding },
      stats_alone: alone,
      collector_errors: { ...collector.errors, note: 'ERROR lines the collector logged during the dashboard loads' },
      runs,
      median: {
        figures_ms: median(runs.map((r) => r.figures_ms)),
        first_render_ms: median(runs.map((r) => r.first_render_ms)),
        stats_ms: median(runs.map((r) => r.stats_ms)),
        stats_ttfb_ms: median(runs.map((r) => r.stats_ttfb_ms)),
      },
    };
    fs.writeFileSync(RESULT_FILE, `${JSON.stringify(result, null, 2)}\n`);

    console.log(`\nDashboard, ${events} events on SQLite (${reused ? 'reused database' : `seeded in ${(seeding.ms / 1000).toFixed(1)} s`}), ${range.from}..${range.to}, collector: ${note}`);
    const cols = ['run   ', 'figures ms', 'first render ms', 'stats ms', 'stats TTFB ms', 'prev. stats ms', 'wasm ms', 'stats reqs'];
    const row = (cells) => cells.map((c, j) => String(c ?? '–').padStart(cols[j].length)).join('  ');
    console.log(cols.join('  '));
    runs.forEach((r, i) => console.log(row([i + 1, r.figures_ms, r.first_render_ms, r.stats_ms, r.stats_ttfb_ms, r.previous_stats_ms, r.wasm_ms, r.stats_requests_before_render])));
    console.log(row(['median', result.median.figures_ms, result.median.first_render_ms, result.median.stats_ms, result.median.stats_ttfb_ms, '', '', '']));
    console.log(`stats alone (one request from Node, collector idle): ${alone.ms} ms, HTTP ${alone.status}`);
    if (collector.errors.count) console.log(`collector logged ${collector.errors.count} errors; first: ${collector.errors.first[0]}`);
    console.log(`(stats reqs: /stats requests the page had started by its first render)`);
    console.log(`wrote ${path.relative(ROOT, RESULT_FILE)}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopCollector(collector);
  }
}

main().catch((e) => {
  console.error(`bench/dashboard.js: ${e.stack || e}`);
  process.exitCode = 1;
});
