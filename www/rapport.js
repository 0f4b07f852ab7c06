/*! Rapport loader. Embed with:
 * <script src=".../rapport.js" data-site="SITE" data-endpoint=".../v1/batch" async></script>
 * It defines window.rapport at once, keeps calls made before the tracker is ready (the
 * tracker replays them in order), honours Do Not Track, Global Privacy Control and consent,
 * and never throws into the page. */
(function (w) {
  'use strict';
  var prefix = 'rapport: ';
  var d = document, nav = navigator;
  var script = d.currentScript;
  var prev = w.rapport;
  if (prev && prev.loaded) return; // the tag was included twice
  var queue = [];
  var api = { loaded: true };
  var off = false; // no tracking: bad setup, opted out, no consent, DNT or GPC
  var data = (script && script.dataset) || {};

  // Until the tracker starts, calls are queued with the wall and page time they were made.
  ['track', 'page', 'identify', 'configure'].forEach(function (name) {
    api[name] = function () {
      if (!off && queue.length < 100) {
        queue.push([name, [Date.now(), performance.now()].concat([].slice.call(arguments))]);
      }
    };
  });

  // Stops tracking and clears every rapport: key (and no other) but an earlier opt-out.
  function stop() {
    off = true;
    queue.length = 0;
    if (api._stop) api._stop();
    try {
      for (var i = localStorage.length; i--;) {
        var k = localStorage.key(i);
        if (k && k.indexOf('rapport:') == 0 && k != 'rapport:opt_out') localStorage.removeItem(k);
      }
    } catch (e) { /* storage blocked: nothing stored */ }
  }
  function fail(message, e) {
    off = true;
    queue.length = 0;
    console.error(prefix + message + '; tracking is off', e === undefined ? '' : e);
  }
  api.optOut = function () {
    stop();
    try { localStorage.setItem('rapport:opt_out', '1'); } catch (e) { /* blocked */ }
  };
  var consented = data.consent != 'required';
  api.consent = function (granted) {
    if (!granted) stop();
    else if (!consented && !off) {
      consented = true;
      load();
    }
  };
  // The visitor id, for the site's server to send with an order (the self-referral rule);
  // '' while tracking is off, here or (opted out) in another tab. The tracker keeps it in
  // rapport:visit, so it is there before the tracker loads on every page but the first.
  api.visitor = function () {
    try {
      return !off && consented && !localStorage.getItem('rapport:opt_out') &&
        JSON.parse(localStorage.getItem('rapport:visit')).v || '';
    } catch (e) { return ''; }
  };
  w.rapport = api;

  if (!script || !script.src) return fail('load rapport.js with a <script src> tag');
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiateStreaming !== 'function') {
    return fail('this browser cannot run WebAssembly');
  }
  var base = new URL('.', script.src).href;
  try {
    if (localStorage.getItem('rapport:opt_out')) off = true;
  } catch (e) { /* storage blocked */ }
  // Do Not Track and Global Privacy Control mean no tracking, unless the site owner set
  // data-dnt="ignore".
  if (data.dnt != 'ignore' && (nav.doNotTrack == '1' || w.doNotTrack == '1' || nav.globalPrivacyControl)) off = true;

  // Resolves with the module's exports and the driver. The module imports nothing, so it
  // needs no glue; it compiles while the driver loads.
  function instantiate() {
    // Streaming compilation needs fetch; if the host page broke fetch, XHR bytes compile
    // asynchronously.
    var wasmUrl = base + 'rapport_widget_bg.wasm';
    var wasm;
    try {
      wasm = fetch(wasmUrl);
      if (!wasm || typeof wasm.then !== 'function') throw 0;
      wasm = WebAssembly.instantiateStreaming(wasm, {}).catch(function (e) {
        // Served without the application/wasm type: compile from the bytes instead.
        if (!/MIME|Content-Type/i.test(e && e.message)) throw e;
        return fetch(wasmUrl).then(function (r) { return r.arrayBuffer(); }).then(function (b) {
          return WebAssembly.instantiate(b, {});
        });
      });
    } catch (e) {
      wasm = new Promise(function (resolve, reject) {
        var x = new XMLHttpRequest();
        x.open('GET', wasmUrl);
        x.responseType = 'arraybuffer';
        x.onload = function () { x.status == 200 ? resolve(x.response) : reject(x.status); };
        x.onerror = reject;
        x.send();
      }).then(function (bytes) { return WebAssembly.instantiate(bytes, {}); });
    }
    return Promise.all([wasm, import(base + 'rapport_widget.js')]).then(function (r) {
      return [r[0].instance.exports, r[1]];
    });
  }

  function load() {
    // On the trunk development page, trunk's own script instantiates the module with its
    // wasm-bindgen glue (a second instantiation would race it).
    (data.glue == 'trunk'
      ? Promise.all([
        new Promise(function (resolve) {
          if (w.wasmBindings) resolve(w.wasmBindings);
          else w.addEventListener('TrunkApplicationStarted', function () { resolve(w.wasmBindings); });
        }),
        import(base + 'driver.js')
      ])
      : instantiate())
      .then(function (loaded) {
        if (off) return; // opted out meanwhile
        var pending = queue.splice(0, queue.length);
        if (!loaded[1].start(loaded[0], api, pending, script)) off = true; // it said why
      })
      .catch(function (e) {
        if (/wasm-unsafe-eval|Content Security Policy/i.test(String(e && e.message))) {
          fail("WebAssembly is blocked by the page's Content-Security-Policy " +
            "(script-src needs 'wasm-unsafe-eval')");
        } else {
          fail('could not load from ' + base, e);
        }
      });
  }
  // With data-consent="required", nothing is loaded, stored or sent before consent(true).
  if (!off && consented) load();
})(window);
