/*! Rapport loader. Embed with:
 * <script src=".../rapport.js" data-site="SITE" data-endpoint=".../v1/batch" async></script>
 * It defines window.rapport at once, keeps calls made before the WebAssembly is ready and
 * replays them in order, and never throws into the page. */
(function (w) {
  'use strict';
  var prefix = 'rapport: ';
  var script = document.currentScript;
  var prev = w.rapport;
  if (prev && prev.loaded) return; // the tag was included twice
  var queue = [];
  var api = { loaded: true, ready: false };
  var widget = null; // the glue module, once the tracker has booted
  var timer = 0;

  // The module says when it wants to run again; this is its only timer.
  function kick() {
    timer = 0;
    var wait = widget ? widget.poll(Date.now()) : -1;
    if (wait >= 0) timer = setTimeout(guard(kick), wait);
  }

  // Property types are reported with typeof; the module validates the rest. `t` is when the
  // page made the call, which for queued calls is before the module was ready.
  var calls = {
    track: function (t, name, props) {
      if (props != null) {
        if (typeof props != 'object' || props instanceof Array) widget.prop(0, '', '');
        else Object.keys(props).forEach(function (k) {
          var v = props[k], t = typeof v;
          var kind = v === null ? 4 : t == 'string' ? 1 : t == 'number' ? (isFinite(v) ? 2 : 5) : t == 'boolean' ? 3 : 0;
          widget.prop(kind, k, kind == 2 || kind == 3 ? String(v) : kind == 1 ? v : '');
        });
      }
      widget.track(t, typeof name == 'string' ? name : undefined);
    },
    page: function (t) {
      widget.page(t, location.href, document.referrer);
    }
  };

  // Runs f, keeping every exception away from the page. A trap means a bug in the module:
  // stop rather than risk more.
  function guard(f) {
    return function () {
      try {
        return f.apply(null, arguments);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) widget = null;
        console.error(prefix + 'internal error', e);
      }
    };
  }

  var run = guard(function (name, args) {
    calls[name].apply(null, args); // args[0] is the call's time
    if (!timer) timer = setTimeout(guard(kick), 0); // calls in one task share a batch
  });

  ['track', 'page'].forEach(function (name) {
    api[name] = function () {
      var args = [Date.now()].concat([].slice.call(arguments));
      if (widget) run(name, args);
      else if (!api.ready) queue.push([name, args]);
    };
  });
  w.rapport = api;

  function off(message, e) {
    api.ready = true; // nothing more will be queued
    queue.length = 0;
    console.error(prefix + message + '; tracking is off', e === undefined ? '' : e);
  }

  if (!script || !script.src) return off('load rapport.js with a <script src> tag');
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiateStreaming !== 'function') {
    return off('this browser cannot run WebAssembly');
  }
  var base = new URL('.', script.src).href;
  var data = script.dataset;

  // Resolves with the initialised glue module.
  function load() {
    // Fetch the module while the glue loads, so the two requests overlap. Streaming
    // compilation needs fetch; if the host page broke fetch, XHR bytes compile asynchronously.
    var wasmUrl = base + 'rapport_widget_bg.wasm';
    var wasm;
    try {
      wasm = fetch(wasmUrl);
      if (!wasm || typeof wasm.then !== 'function') throw 0;
    } catch (e) {
      wasm = new Promise(function (resolve, reject) {
        var x = new XMLHttpRequest();
        x.open('GET', wasmUrl);
        x.responseType = 'arraybuffer';
        x.onload = function () { x.status == 200 ? resolve(x.response) : reject(x.status); };
        x.onerror = reject;
        x.send();
      });
    }
    wasm.catch(function () {});
    return import(base + 'rapport_widget.js').then(function (glue) {
      return glue.default({ module_or_path: wasm }).then(function () { return glue; });
    });
  }

  // On the trunk development page, trunk's own script instantiates the module; a second
  // instantiation would race it, so wait for trunk's instead.
  var glueReady = data.glue == 'trunk'
    ? new Promise(function (resolve) {
      if (w.wasmBindings) resolve(w.wasmBindings);
      else w.addEventListener('TrunkApplicationStarted', function () { resolve(w.wasmBindings); });
    })
    : load();

  glueReady
    .then(guard(function (glue) {
      api.ready = true;
      if (!glue.boot(data.site, data.endpoint, Date.now(), location.href, document.referrer)) return; // boot said why
      widget = glue;
      var pending = queue.splice(0, queue.length);
      for (var i = 0; i < pending.length; i++) run(pending[i][0], pending[i][1]);
      if (!timer) kick();
    }))
    .catch(function (e) {
      if (/wasm-unsafe-eval|Content Security Policy/i.test(String(e && e.message))) {
        off("WebAssembly is blocked by the page's Content-Security-Policy " +
          "(script-src needs 'wasm-unsafe-eval')");
      } else {
        off('could not load from ' + base, e);
      }
    });
})(window);
