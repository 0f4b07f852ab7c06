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
  // Calls queued by an inline snippet (`rapport.q`) run first.
  var queue = prev && prev.q instanceof Array ? prev.q : [];
  var api = { loaded: true, ready: false, q: queue };
  var widget = null;
  var methods = ['track', 'page'];

  function call(name, args) {
    try {
      widget[name].apply(widget, args);
    } catch (e) {
      // Only a trap inside the module gets here; stop rather than risk more.
      widget = null;
      console.error(prefix + 'stopped after an internal error', e);
    }
  }

  methods.forEach(function (name) {
    api[name] = function () {
      var args = [].slice.call(arguments);
      if (widget) call(name, args);
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
  var config = {};
  for (var key in script.dataset) config[key] = script.dataset[key];
  // Fetch the module while the glue loads, so the two requests overlap.
  var wasm = fetch(base + 'rapport_widget_bg.wasm');
  wasm.catch(function () {});

  import(base + 'rapport_widget.js')
    .then(function (glue) {
      return glue.default({ module_or_path: wasm }).then(function () {
        widget = glue.boot(config) || null;
        api.ready = true;
        if (!widget) return; // boot already said why
        var pending = queue.splice(0, queue.length);
        for (var i = 0; i < pending.length && widget; i++) call(pending[i][0], pending[i][1]);
      });
    })
    .catch(function (e) {
      var text = String(e && e.message);
      if (/wasm-unsafe-eval|Content Security Policy/i.test(text)) {
        off("WebAssembly is blocked by the page's Content-Security-Policy " +
          "(script-src needs 'wasm-unsafe-eval')");
      } else {
        off('could not load from ' + base, e);
      }
    });
})(window);
