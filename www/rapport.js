/*! Rapport loader. Embed with:
 * <script src=".../rapport.js" data-site="SITE" data-endpoint=".../v1/batch" async></script>
 * It defines window.rapport at once, keeps calls made before the tracker is ready (the
 * tracker replays them in order), honours Do Not Track, Global Privacy Control and consent,
 * and never throws into the page: every entry point is guarded on its own, and it relies on
 * no global the host page may have replaced (Promise, Array methods) where a native one is
 * at hand. */
(function (w) {
  'use strict';
  var prefix = 'rapport: ';
  var d = document, nav = navigator;
  var script = d.currentScript;
  var prev = w.rapport;
  if (prev && prev.loaded) return; // the tag was included twice
  // Captured now: a page script that replaces them later does not reach the tracker.
  var json = { stringify: JSON.stringify, parse: JSON.parse };
  var queue = [];
  var api = { loaded: true };
  var off = false; // no tracking on this page: bad setup, opted out, DNT or GPC
  var consented = true; // consent given (or not required)
  var refused = false; // consent(false): calls are dropped until consent(true)
  var running = false; // the tracker was started and not stopped
  var data = (script && script.dataset) || {};
  function say(kind, message, e) {
    try { console[kind](prefix + message, e === undefined ? '' : e); } catch (x) { /* no console */ }
  }

  // Until the tracker starts, calls are queued with the wall and page time they were made.
  var names = ['track', 'page', 'identify', 'configure', 'destroy'];
  function queued(name) {
    return function () {
      try {
        if (off || refused || queue.length >= 100) return;
        var call = [Date.now(), performance.now()];
        for (var i = 0; i < arguments.length; i++) call[call.length] = arguments[i];
        queue[queue.length] = [name, call];
      } catch (e) { say('warn', name + '() dropped the call: ' + e); }
    };
  }
  for (var n = 0; n < names.length; n++) api[names[n]] = queued(names[n]);

  // Page experiments. Every [data-rapport-variant] stays hidden until the tracker marks the
  // visitor's variant data-rapport-chosen; a constructable stylesheet does it, which a strict
  // CSP allows. Without a decision in time (loading slowly, tracking off), the first variant
  // of each experiment is shown and no exposure is recorded.
  var wait = data.experimentTimeout == null ? 1000 : +data.experimentTimeout;
  if (!(wait >= 0 && wait <= 10000)) {
    say('error', 'config field "data-experiment-timeout" must be 0-10000 ms; using 1000');
    wait = 1000;
  }
  var late = false; // the wait is over before the tracker ran
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync('[data-rapport-variant]:not([data-rapport-chosen]){display:none!important}');
    d.adoptedStyleSheets = d.adoptedStyleSheets.concat(sheet);
  } catch (e) { /* no constructable stylesheets: variants show as the page has them */ }
  function firstVariants() {
    try {
      var boxes = d.querySelectorAll('[data-rapport-experiment]');
      for (var i = 0; i < boxes.length; i++) {
        var first = boxes[i].querySelector('[data-rapport-variant]');
        if (first && !boxes[i].querySelector('[data-rapport-chosen]')) first.setAttribute('data-rapport-chosen', '');
      }
    } catch (e) { /* nothing to show */ }
  }
  function fallback() {
    if (running) return; // the tracker decides
    late = true;
    firstVariants();
  }
  api._t = setTimeout(fallback, wait); // destroy() clears it
  d.addEventListener('DOMContentLoaded', function () { if (late || off) firstVariants(); }, { once: true });
  // A promise of the visitor's variant; the first one when no decision comes in time.
  api.experiment = function (id, variants, options) {
    try {
      var call = { done: 0 };
      return new (w.Promise)(function (resolve) {
        call.resolve = function (v) {
          if (!call.done) {
            call.done = 1;
            resolve(v);
          }
        };
        var first = function () {
          try { call.resolve(variants && typeof variants[0] == 'string' ? variants[0] : null); } catch (e) { call.resolve(null); }
        };
        if (running && api._experiment) return api._experiment(id, variants, options, call);
        if (off || refused || queue.length >= 100) return first();
        setTimeout(first, wait); // after it, the tracker records no exposure
        queue[queue.length] = ['experiment', [Date.now(), performance.now(), id, variants, options, call]];
      });
    } catch (e) { say('warn', 'experiment() failed: ' + e); }
  };

  // Clears every rapport: key (and no other) but an earlier opt-out.
  function forget() {
    try {
      for (var i = localStorage.length; i--;) {
        var k = localStorage.key(i);
        if (k && k.indexOf('rapport:') == 0 && k != 'rapport:opt_out') localStorage.removeItem(k);
      }
    } catch (e) { /* storage blocked: nothing stored */ }
  }
  // Stops the tracker, drops what is queued and what is stored; the calls queue again.
  function stop() {
    queue.length = 0;
    if (running && api._stop) {
      try { api._stop(); } catch (e) { /* stopped as far as it could */ }
    }
    running = false;
    api._experiment = null;
    for (var i = 0; i < names.length; i++) api[names[i]] = queued(names[i]);
    forget();
  }
  function fail(message, e) {
    off = true;
    queue.length = 0;
    firstVariants();
    say('error', message + '; tracking is off', e);
  }
  // Permanent: the rapport:opt_out marker keeps later pages off too.
  api.optOut = function () {
    off = true;
    stop();
    firstVariants();
    try { localStorage.setItem('rapport:opt_out', '1'); } catch (e) { /* blocked */ }
  };
  // true or false only. A refusal stops tracking and clears what is stored, for now: a later
  // consent(true) starts it again. Only optOut() is permanent.
  api.consent = function (granted) {
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
  api.visitor = function () {
    try {
      return !off && consented && !localStorage.getItem('rapport:opt_out') &&
        json.parse(localStorage.getItem('rapport:visit')).v || '';
    } catch (e) { return ''; }
  };
  w.rapport = api;

  if (!script || !script.src) return fail('load rapport.js with a <script src> tag');
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiateStreaming !== 'function') {
    return fail('this browser cannot run WebAssembly');
  }
  var base;
  try { base = new URL('.', script.src).href; } catch (e) { return fail('load rapport.js from an http(s) URL'); }
  try {
    if (localStorage.getItem('rapport:opt_out')) off = true;
  } catch (e) { /* storage blocked */ }
  // Do Not Track and Global Privacy Control mean no tracking, unless the site owner set
  // data-dnt="ignore".
  if (data.dnt != 'ignore' && (nav.doNotTrack == '1' || w.doNotTrack == '1' || nav.globalPrivacyControl)) off = true;
  if (off) firstVariants();

  // The tracker's glue (wasm-bindgen's) and its module, fetched side by side; the glue's
  // promises are native ones (the page's own Promise may be replaced).
  function instantiate() {
    var wasmUrl = base + 'rapport_widget_bg.wasm';
    var glue = import(base + 'rapport_widget.js'), wasm;
    try {
      wasm = fetch(wasmUrl);
      if (!wasm || typeof wasm.then !== 'function') throw 0;
    } catch (e) {
      // The host page broke fetch: the bytes come by XHR.
      wasm = new (w.Promise)(function (resolve, reject) {
        var x = new XMLHttpRequest();
        x.open('GET', wasmUrl);
        x.responseType = 'arraybuffer';
        x.onload = function () { x.status == 200 ? resolve(x.response) : reject(new Error('HTTP ' + x.status + ' for ' + wasmUrl)); };
        x.onerror = reject;
        x.send();
      });
    }
    return glue.then(function (module) {
      return module.default({ module_or_path: wasm }).then(function () { return module; });
    });
  }

  // Starts the tracker with what was loaded; a failure here is the tracker's, not loading's.
  function begin(loaded) {
    if (off || !consented || running) return; // opted out or refused meanwhile
    var pending = queue.splice(0, queue.length);
    try {
      running = !!loaded.start(api, pending, script, json, function (u) { return import(u); });
      if (!running) off = true; // it said why
    } catch (e) {
      fail('the tracker could not start', e);
    }
  }

  function load() {
    var started;
    try {
      // On the trunk development page, trunk's own script instantiates the module with its
      // glue (a second instantiation would race it).
      started = data.glue == 'trunk'
        ? new (w.Promise)(function (resolve) {
          if (w.wasmBindings) return resolve(w.wasmBindings);
          w.addEventListener('TrunkApplicationStarted', function () { resolve(w.wasmBindings); });
        })
        : instantiate();
    } catch (e) {
      return fail('could not load from ' + base, e);
    }
    started.then(begin, function (e) {
      if (/wasm-unsafe-eval|Content Security Policy/i.test(String(e && e.message))) {
        fail("WebAssembly is blocked by the page's Content-Security-Policy " +
          "(script-src needs 'wasm-unsafe-eval')");
      } else {
        fail('could not load from ' + base, e);
      }
    });
  }
  // With data-consent="required", nothing is loaded, stored or sent before consent(true).
  if (data.consent == 'required') consented = false;
  if (!off && consented) load();
})(window);
