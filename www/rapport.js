/*! Rapport loader. Embed with:
 * <script src=".../rapport.js" data-site="SITE" data-endpoint=".../v1/batch" async></script>
 * It defines window.rapport at once, keeps calls made before the tracker is ready (the
 * tracker replays them in order), honours Do Not Track, Global Privacy Control and consent,
 * and never throws into the page: every entry point is guarded on its own, and it relies on
 * no global the host page may have replaced (Promise, Array methods) where a native one is
 * at hand. It is written for size (it runs on every page): the syntax is that of the
 * browsers it can serve, which all have import() and so arrow functions and optional catch
 * bindings; the settings' validation and its messages live in the tracker. */
((w) => {
  'use strict';
  let d = document, nav = navigator, script = d.currentScript, prev = w.rapport, store;
  if (prev && prev.loaded) return; // the tag was included twice
  try { store = localStorage; } catch { /* blocked: every use below is guarded */ }
  // Captured now: a page script that replaces them later does not reach the tracker.
  let json = { stringify: JSON.stringify, parse: JSON.parse };
  let queue = [];
  let api = { loaded: true };
  let off = false; // no tracking on this page: bad setup, opted out, DNT or GPC
  let consented = true; // consent given (or not required)
  let refused = false; // consent(false): calls are dropped until consent(true)
  let running = false; // the tracker was started and not stopped
  let data = (script && script.dataset) || {};
  let base;
  let say = (kind, message, e) => {
    try { console[kind]('rapport: ' + message, e === undefined ? '' : e); } catch { /* no console */ }
  };
  // Queued calls are dropped while tracking is off or refused, and past 100.
  let full = () => off || refused || queue.length >= 100;

  // Until the tracker starts, calls are queued with the wall and page time they were made.
  // No spread or push: the page may have replaced Array's iterator or methods.
  let names = ['track', 'page', 'identify', 'configure', 'destroy'];
  let queued = (name) => function () {
    try {
      if (full()) return;
      let call = [Date.now(), performance.now()];
      for (let i = 0; i < arguments.length; i++) call[i + 2] = arguments[i];
      queue[queue.length] = [name, call];
    } catch (e) { say('warn', name + '() dropped the call: ' + e); }
  };
  let reset = () => { for (let i = 0; i < names.length; i++) api[names[i]] = queued(names[i]); };
  reset();

  // Page experiments. Every [data-rapport-variant] stays hidden until the tracker marks the
  // visitor's variant data-rapport-chosen; a constructable stylesheet does it, which a strict
  // CSP allows. Without a decision in time (loading slowly, tracking off), the first variant
  // of each experiment is shown and no exposure is recorded. The tracker reports a bad
  // data-experiment-timeout; here it falls back to 1000.
  let wait = data.experimentTimeout == null ? 1e3 : +data.experimentTimeout;
  if (!(wait >= 0 && wait <= 1e4)) wait = 1e3;
  let late = false; // the wait is over before the tracker ran
  try {
    let sheet = new CSSStyleSheet();
    sheet.replaceSync('[data-rapport-variant]:not([data-rapport-chosen]){display:none!important}');
    d.adoptedStyleSheets = d.adoptedStyleSheets.concat(sheet);
  } catch { /* no constructable stylesheets: variants show as the page has them */ }
  let firstVariants = () => {
    try {
      let boxes = d.querySelectorAll('[data-rapport-experiment]');
      for (let i = 0, box; box = boxes[i]; i++) {
        let first = box.querySelector('[data-rapport-variant]');
        if (first && !box.querySelector('[data-rapport-chosen]')) first.setAttribute('data-rapport-chosen', '');
      }
    } catch { /* nothing to show */ }
  };
  api._t = setTimeout(() => {
    if (!running) { // else the tracker decides
      late = true;
      firstVariants();
    }
  }, wait); // destroy() clears it
  d.addEventListener('DOMContentLoaded', () => { if (late || off) firstVariants(); }, { once: true });
  // A promise of the visitor's variant; the first one when no decision comes in time.
  api.experiment = (id, variants, options) => {
    try {
      return new w.Promise((resolve) => {
        let call = { done: 0 };
        call.resolve = (v) => {
          if (!call.done) {
            call.done = 1;
            resolve(v);
          }
        };
        let first = () => {
          try { call.resolve(variants && typeof variants[0] == 'string' ? variants[0] : null); } catch { call.resolve(null); }
        };
        if (running && api._experiment) return api._experiment(id, variants, options, call);
        if (full()) return first();
        setTimeout(first, wait); // after it, the tracker records no exposure
        queue[queue.length] = ['experiment', [Date.now(), performance.now(), id, variants, options, call]];
      });
    } catch (e) { say('warn', 'experiment() failed: ' + e); }
  };

  // Stops the tracker, drops what is queued and every rapport: key (and no other) but an
  // earlier opt-out; the calls queue again.
  let stop = () => {
    queue.length = 0;
    if (running && api._stop) {
      try { api._stop(); } catch { /* stopped as far as it could */ }
    }
    running = false;
    api._experiment = null;
    reset();
    try {
      for (let i = store.length; i--;) {
        let k = store.key(i);
        if (k && k.indexOf('rapport:') == 0 && k != 'rapport:opt_out') store.removeItem(k);
      }
    } catch { /* storage blocked: nothing stored */ }
  };
  let fail = (message, e) => {
    off = true;
    queue.length = 0;
    firstVariants();
    say('error', message + '; tracking is off', e);
  };
  // Permanent: the rapport:opt_out marker keeps later pages off too.
  api.optOut = () => {
    off = true;
    stop();
    firstVariants();
    try { store.setItem('rapport:opt_out', '1'); } catch { /* blocked */ }
  };
  // true or false only. A refusal stops tracking and clears what is stored, for now: a later
  // consent(true) starts it again. Only optOut() is permanent.
  api.consent = (granted) => {
    if (granted !== true && granted !== false) {
      return say('warn', 'consent() ignored: pass true or false, not ' + (typeof granted == 'string' ? '"' + granted + '"' : String(granted)));
    }
    if (!granted) {
      consented = false;
      refused = true;
      stop();
    } else if (!consented) {
      consented = true;
      refused = false;
      if (!off) load();
    }
  };
  // The visitor id, for the site's server to send with an order (the self-referral rule);
  // '' while tracking is off, here or (opted out) in another tab. The tracker keeps it in
  // rapport:visit, so it is there before the tracker loads on every page but the first.
  api.visitor = () => {
    try {
      return !off && consented && !store.getItem('rapport:opt_out') && json.parse(store.getItem('rapport:visit')).v || '';
    } catch { return ''; }
  };
  w.rapport = api;

  // The tracker's glue (wasm-bindgen's) and its module, fetched side by side; the glue's
  // promises are native ones (the page's own Promise may be replaced). Then the tracker
  // starts with what was loaded; a failure there is the tracker's, not loading's.
  let load = () => {
    // A browser without WebAssembly fails here too: its glue cannot instantiate, and says so.
    let failed = (e) => fail('could not load from ' + base +
      (/wasm-unsafe-eval|Content Security Policy/i.test(String(e && e.message)) ? " (script-src needs 'wasm-unsafe-eval')" : ''), e);
    try {
      let started;
      if (data.glue) {
        // On the development page (data-glue="trunk", a tag that is not async), trunk's own
        // script instantiates the module with its glue: a second instantiation would race it.
        started = new w.Promise((resolve) => w.addEventListener('TrunkApplicationStarted', () => resolve(w.wasmBindings)));
      } else {
        // The module's bytes, fetched beside the glue; by XHR if the host page broke fetch.
        let url = base + 'rapport_widget_bg.wasm', wasm;
        try {
          wasm = fetch(url);
          if (!wasm || typeof wasm.then != 'function') throw 0;
        } catch {
          wasm = new w.Promise((resolve, reject) => {
            let x = new XMLHttpRequest();
            x.open('GET', url);
            x.responseType = 'arraybuffer';
            x.onload = () => x.status == 200 ? resolve(x.response) : reject(Error('HTTP ' + x.status));
            x.onerror = reject;
            x.send();
          });
        }
        started = import(base + 'rapport_widget.js').then((module) => module.default({ module_or_path: wasm }).then(() => module));
      }
      started.then((loaded) => {
        if (off || !consented || running) return; // opted out or refused meanwhile
        let pending = queue.splice(0, queue.length);
        try {
          running = !!loaded.start(api, pending, script, json, (u) => import(u));
          if (!running) off = true; // it said why
        } catch (e) {
          fail('the tracker could not start', e);
        }
      }, failed);
    } catch (e) { failed(e); }
  };

  try { base = new URL('.', script.src).href; } catch { return fail('load rapport.js from an http(s) URL with <script src>'); }
  try { if (store.getItem('rapport:opt_out')) off = true; } catch { /* storage blocked */ }
  // Do Not Track and Global Privacy Control mean no tracking, unless the site owner set
  // data-dnt="ignore".
  if (data.dnt != 'ignore' && (nav.doNotTrack == '1' || w.doNotTrack == '1' || nav.globalPrivacyControl)) off = true;
  if (off) firstVariants();
  // With data-consent="required", nothing is loaded, stored or sent before consent(true).
  if (data.consent == 'required') consented = false;
  if (!off && consented) load();
})(window);
