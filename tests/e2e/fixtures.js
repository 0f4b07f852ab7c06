// Shared fixtures: a real collector per test, on its own SQLite file and a free port.
const base = require('@playwright/test');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const collectorBin = process.env.RAPPORT_COLLECTOR_BIN || path.join(root, 'target/debug/rapport-collector');
const embedDir = process.env.RAPPORT_EMBED_DIR || path.join(root, 'dist/embed');
const dashboardDir = process.env.RAPPORT_DASHBOARD_DIR || path.join(root, 'dist/dashboard');

/** Starts the collector and resolves with its base URL once it prints the listening line. */
function startCollector(dir, siteConfig = '', extraArgs = []) {
  // Test pages come from the collector's own origin, whose port is only known after start.
  const config = path.join(dir, 'rapport.toml');
  fs.writeFileSync(config, `[[site]]\nid = "demo"\norigins = ["*"]\n${siteConfig}`);
  const child = spawn(collectorBin, [
    '--config', config,
    '--listen', '127.0.0.1:0',
    '--database-url', `sqlite://${path.join(dir, 'rapport.db')}`,
    '--demo-dir', path.join(root, 'www'),
    '--embed-dir', embedDir,
    '--dashboard-dir', dashboardDir,
    ...extraArgs,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`collector exited with ${code}: ${stderr}`)));
  });
}

class Collector {
  constructor(url) { this.url = url; }

  /** Stored events of a site, oldest first, read through the collector's API. */
  async events(site = 'demo') {
    const res = await fetch(`${this.url}/v1/sites/${site}/events?limit=500`);
    if (!res.ok) throw new Error(`events API answered ${res.status}`);
    const body = await res.json();
    return body.events.reverse();
  }

  /** Polls until `predicate(events)` holds, then returns the events. */
  async waitFor(predicate, { site = 'demo', timeout = 10_000 } = {}) {
    const until = Date.now() + timeout;
    let events = [];
    while (Date.now() < until) {
      events = await this.events(site);
      if (predicate(events)) return events;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out; stored events: ${JSON.stringify(events.map((e) => e.name))}`);
  }
}

/** Has the demo pages opened by `target` (a page or a browser context) send after 100 ms
 * rather than the default 5 s batch wait. */
async function fastBatches(target) {
  await target.route(/\/demo\/([\w-]+\.html)?(\?.*)?$/, async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace('data-endpoint="/v1/batch"', 'data-endpoint="/v1/batch" data-batch-wait="100"');
    await route.fulfill({ response, body });
  });
}
exports.fastBatches = fastBatches;

exports.test = base.test.extend({
  /** TOML appended to the demo site's [[site]] table (prompts, theme, …). */
  siteConfig: ['', { option: true }],
  /** More command-line arguments for the collector. */
  collectorArgs: [[], { option: true }],
  collector: async ({ siteConfig, collectorArgs }, use) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-e2e-'));
    const { child, url } = await startCollector(dir, siteConfig, collectorArgs);
    await use(new Collector(url));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  },
  /** Pages whose demo files send after 100 ms rather than the default 5 s batch wait. */
  page: async ({ page }, use) => {
    await fastBatches(page);
    await use(page);
  },
  /** Console messages and uncaught page errors, collected for assertions. */
  consoleLog: async ({ page }, use) => {
    const log = { messages: [], pageErrors: [] };
    page.on('console', (m) => log.messages.push({ type: m.type(), text: m.text() }));
    page.on('pageerror', (e) => log.pageErrors.push(String(e)));
    log.rapport = () => log.messages.filter((m) => m.text.startsWith('rapport:'));
    await use(log);
  },
});
exports.expect = base.expect;

/** Serves `html` at `url` on the collector's origin, so the page and the API share an origin. */
exports.servePage = async function servePage(page, url, html) {
  await page.route(url, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
};

/** axe-core over the widget's shadow roots; resolves with the violations. */
exports.axe = async function axe(page) {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  return page.evaluate(async () => {
    const hosts = [...document.querySelectorAll('rapport-ui')];
    // Colours are measured once the entrance animation (opacity) is over.
    await Promise.all(hosts.flatMap((h) => h.shadowRoot.getAnimations().map((a) => a.finished)));
    const result = await window.axe.run({ include: hosts }, { resultTypes: ['violations'] });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`);
  });
};

/** A batch request's body as JSON, gunzipped when the widget compressed it
 * (`data-compress="gzip"`, as the demo shop has it). */
exports.batchBody = function batchBody(request) {
  const buf = request.postDataBuffer();
  const gzipped = buf.length > 1 && buf[0] === 0x1f && buf[1] === 0x8b;
  return JSON.parse(gzipped ? require('node:zlib').gunzipSync(buf).toString() : buf.toString());
};
