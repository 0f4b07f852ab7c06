// Rapport's browser driver: everything the engine (src/lib.rs, rapport-core) does not.
//
// The engine decides: sessions, pageviews, engaged time, scroll milestones, bounce and when
// to wake. This file carries its commands out: it draws ids, builds the events (strings,
// URLs, properties), persists under the `rapport:` prefix, sends batches, and feeds the
// engine the page's signals with numbers only. `cargo xtask dist` appends it to the
// wasm-bindgen glue, so the page loads one script for the tracker; on trunk's development
// page the loader imports it on its own.
//
// Nothing here may throw into the host page: every entry point is guarded.

var PREFIX = 'rapport:';
var NAME = /^[a-z0-9_.-]{1,64}$/;
var UTM = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
// Batch limits: events per request, and bytes under the 64 KiB keepalive quota.
var MAX_EVENTS = 20;
var MAX_BYTES = 60000;
var MAX_PROPS_BYTES = 8192;
// Command codes (CMD_* in src/lib.rs) and signals (SIGNAL_*).
var NEW_VISITOR = 1, NEW_SESSION = 2, NEW_PAGEVIEW = 3, PAGE_VIEW = 4, ENGAGEMENT = 5, MILESTONE = 6;
var INPUT = 1, VISIBLE = 2, HIDDEN = 3, FOCUS = 4, BLUR = 5, SCROLL = 6, HEIGHT = 7, LEAVE = 8;

/**
 * Starts tracking. `m` is the wasm module, `api` the loader's `window.rapport`, `queue` the
 * calls made before now as `[name, [wall time, page time, ...arguments]]`, `script` the
 * script tag. Returns false after one console error naming the field when the config is bad.
 */
export function start(m, api, queue, script) {
  var w = window, d = document, loc = location, nav = navigator, perf = performance;
  var attr = function (n) { return script.getAttribute('data-' + n); };
  var log = function (message, error) {
    try { console[error ? 'error' : 'warn']('rapport: ' + message); } catch (e) { /* no console */ }
  };
  var fail = function (field, why) {
    log('config field "data-' + field + '" ' + why + '; tracking is off', 1);
    return false;
  };

  // ---- Config, validated before anything is stored or sent.
  var site = attr('site'), endpoint = attr('endpoint'), target;
  if (!site) return fail('site', 'is missing');
  if (!NAME.test(site)) return fail('site', "may only contain a-z, 0-9, '_', '.' and '-' (1-64 characters)");
  if (!endpoint) return fail('endpoint', 'is missing');
  try { target = new URL(endpoint, loc.href); } catch (e) { /* reported below */ }
  if (!target || !/^https?:$/.test(target.protocol)) return fail('endpoint', 'must be an http(s) URL');
  endpoint = target.href;
  var numeric = ['session-timeout', 'session-max', 'idle-timeout', 'attribution-days'];
  var bad = m.init.apply(null, numeric.map(function (n) {
    var v = attr(n);
    return v == null ? NaN : v.trim() && !isNaN(+v) ? +v : -1;
  }));
  if (bad) return fail(numeric[bad - 1], 'is not a whole number in the allowed range');
  var keyEvents = (attr('key-events') || 'feedback_submitted,referral_shared,purchase')
    .split(',').map(function (k) { return k.trim(); });
  if (!keyEvents.every(function (k) { return NAME.test(k); })) {
    return fail('key-events', 'must be event names separated by commas');
  }
  var refParam = attr('ref-param');
  if (refParam == null) refParam = 'ref';
  if (refParam && !NAME.test(refParam)) return fail('ref-param', "must be empty or 1-64 characters of a-z, 0-9, '_', '.' and '-'");

  // ---- Storage: JSON under the prefix; full, blocked or corrupt storage reads as empty.
  var load = function (key) {
    try {
      var v = JSON.parse(localStorage.getItem(PREFIX + key));
      return v && typeof v == 'object' ? v : null;
    } catch (e) { return null; }
  };
  var save = function (key, value) {
    try {
      if (value) localStorage.setItem(PREFIX + key, JSON.stringify(value));
      else localStorage.removeItem(PREFIX + key);
    } catch (e) { /* full or blocked: the visit lives in memory */ }
  };

  var uuid = function () {
    var b = crypto.getRandomValues(new Uint8Array(16)), s = '';
    b[6] = b[6] & 15 | 64; // version 4
    b[8] = b[8] & 63 | 128; // RFC 4122 variant
    for (var i = 0; i < 16; i++) s += (i == 4 || i == 6 || i == 8 || i == 10 ? '-' : '') + (b[i] | 256).toString(16).slice(1);
    return s;
  };

  // ---- The visit: ids and campaign here, numbers in the engine; shared by the origin's tabs.
  var visit = {}; // v: visitor id, s: session id, c: the session's campaign
  var adopt = function () {
    var stored = load('visit'), n = stored && stored.n;
    if (n instanceof Array && n.length == 7 && typeof stored.v == 'string' && typeof stored.s == 'string' &&
      m.restore(n[0], n[1], n[2], n[3], n[4], n[5], !!n[6], stored.s == visit.s)) {
      visit = { v: stored.v, s: stored.s, c: String(stored.c || '') };
    }
  };
  var persist = function () {
    for (var n = [], i = 0; i < 7; i++) n.push(m.visit(i));
    save('visit', { v: visit.v, s: visit.s, c: visit.c, n: n });
  };

  // URLs leave without their fragment and without query parameters other than UTM and the
  // referral parameter.
  var clean = function (href) {
    try {
      var u = new URL(href), kept = new URLSearchParams();
      u.searchParams.forEach(function (v, k) { if (UTM.indexOf(k) >= 0 || (refParam && k == refParam)) kept.append(k, v); });
      u.hash = '';
      u.search = kept.toString();
      return u.href;
    } catch (e) { return ''; }
  };

  var attribution = load('attribution'); // { t: captured at, p: { utm_*, referral_code } }
  var user = load('user'); // { id, hash } from identify()
  var outbox = [];
  var pageview, pageUrl, referrer, nextUrl, nextReferrer, campaign = '', lastHref = loc.href;

  var emit = function (name, props, now) {
    var a = attribution && attribution.p, k;
    for (k in a) if (!(k in props)) props[k] = a[k];
    if (user) {
      if (!('user_id' in props)) props.user_id = user.id;
      if (user.hash && !('user_hash' in props)) props.user_hash = user.hash;
    }
    var event = {
      id: uuid(), name: name, ts: now, visitor_id: visit.v, session_id: visit.s,
      pageview_id: pageview, returning: m.returning(), url: pageUrl, props: props
    };
    if (name == 'page_view' && referrer) event.referrer = referrer;
    outbox.push(event);
  };

  // Carries out the engine's commands, in order.
  var drain = function (now) {
    for (var c; (c = m.next());) {
      if (c == NEW_VISITOR) visit.v = uuid();
      else if (c == NEW_SESSION) { visit.s = uuid(); visit.c = campaign; }
      else if (c == NEW_PAGEVIEW) { pageview = uuid(); pageUrl = nextUrl; referrer = nextReferrer; }
      else if (c == PAGE_VIEW) emit('page_view', { visit_count: m.visit(1), first_seen: m.visit(0) }, now);
      else if (c == ENGAGEMENT) {
        emit('page_engagement', {
          engaged_ms: m.arg(0), scroll_max: m.arg(1), bounce: !!m.arg(2),
          session_engaged_ms: m.arg(3), session_pageviews: m.arg(4), key_event: !!m.arg(5)
        }, now);
      } else if (c == MILESTONE) emit('scroll_milestone', { depth: m.arg(0) }, now);
      else persist();
    }
  };

  // ---- Transport: JSON as text/plain (no CORS preflight), fetch with keepalive, and
  // sendBeacon when the host page broke fetch.
  var send = function (body) {
    try {
      fetch(endpoint, { method: 'POST', body: body, keepalive: true }).catch(function () {});
    } catch (e) {
      try {
        if (!nav.sendBeacon(endpoint, body)) log('sendBeacon refused a batch');
      } catch (e2) { log('fetch and sendBeacon both failed'); }
    }
  };
  var flush = function () {
    while (outbox.length) {
      var events = [], size = 0, json;
      while (outbox.length && events.length < MAX_EVENTS) {
        json = JSON.stringify(outbox[0]);
        if (events.length && size + json.length > MAX_BYTES) break;
        events.push(json);
        size += json.length + 1;
        outbox.shift();
      }
      send('{"site":' + JSON.stringify(site) + ',"sent_at":' + Date.now() + ',"events":[' + events.join(',') + ']}');
    }
  };

  // ---- The one timer: the engine says when to wake (heartbeats); calls in one task share
  // a batch.
  var dead = false, timer = 0;
  var guard = function (f) {
    return function () {
      if (dead) return;
      try {
        return f.apply(this, arguments);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) dead = true; // a bug: stop rather than risk more
        log('internal error ' + e, 1);
      }
    };
  };
  var schedule = function (wait) {
    clearTimeout(timer);
    timer = wait >= 0 ? setTimeout(tick, wait) : 0;
  };
  var tick = guard(function () {
    timer = 0;
    var wait = m.timer(perf.now());
    drain(Date.now());
    flush();
    schedule(wait);
  });
  var after = function () {
    drain(Date.now());
    if (outbox.length || !timer) schedule(0);
  };

  // ---- The public calls; `now` and `t` are the wall and page time the page made them.
  var pageView = function (now, t, from) {
    adopt(); // another tab may have moved the visit on
    var found = {}, any = 0, params;
    try { params = new URL(loc.href).searchParams; } catch (e) { /* no params */ }
    // Attribution comes only from top-level navigations, never from frames.
    if (params && w.top === w) {
      UTM.forEach(function (k) { var v = params.get(k); if (v) { found[k] = v; any = 1; } });
      var code = refParam && params.get(refParam);
      if (code) { found.referral_code = code; any = 1; }
    }
    if (any) save('attribution', attribution = { t: now, p: found });
    else if (attribution && !(attribution.t >= 0 && m.attribution_valid(now, attribution.t))) save('attribution', attribution = null);
    campaign = found.utm_campaign || (attribution && attribution.p && attribution.p.utm_campaign) || '';
    nextUrl = clean(loc.href);
    nextReferrer = from ? clean(from) : '';
    lastHref = loc.href;
    m.page(now, t, !!found.utm_campaign && found.utm_campaign != visit.c);
    drain(now);
  };

  var check = function (props) {
    if (props == null) return [null, {}];
    if (typeof props != 'object' || props instanceof Array) return ['props must be a flat object of strings, numbers, booleans or null'];
    var copy = {}, keys = Object.keys(props);
    for (var i = 0; i < keys.length; i++) {
      var k = keys[i], v = props[k], t = typeof v;
      if (k.length > 64 || !k) return ['props keys must be 1-64 characters'];
      if (t == 'number' && !isFinite(v)) return ['props numbers must be finite'];
      if (v !== null && t != 'string' && t != 'number' && t != 'boolean') {
        return ['props must be a flat object of strings, numbers, booleans or null'];
      }
      copy[k] = v;
    }
    if (new TextEncoder().encode(JSON.stringify(copy)).length > MAX_PROPS_BYTES) return ['props are larger than 8 KB when serialized'];
    return [null, copy];
  };

  var calls = {
    track: function (now, t, name, props) {
      var checked = typeof name == 'string' && NAME.test(name)
        ? check(props) : ["name must be 1-64 characters of a-z, 0-9, '_', '.' and '-'"];
      if (checked[0]) return log('track(' + JSON.stringify(String(name)) + ') dropped the event: ' + checked[0]);
      m.event(now, keyEvents.indexOf(name) >= 0);
      drain(now);
      emit(name, checked[1], now);
    },
    page: function (now, t) {
      pageView(now, t, lastHref);
    },
    identify: function (now, t, id, options) {
      var hash = options && options.hash;
      if (typeof id != 'string' || !id || id.length > 256) return log('identify() ignored: userId must be a string of 1-256 characters');
      if (hash != null && (typeof hash != 'string' || hash.length > 128)) return log('identify() ignored: hash must be a string of at most 128 characters');
      save('user', user = { id: id, hash: hash || '' });
    }
  };

  // ---- Page signals: numbers only; the scroll handler reads just scrollY and innerHeight.
  var signal = guard(function (kind, a, b, c) {
    m.signal(kind, perf.now(), a || 0, b || 0, c || 0);
    if (kind == HIDDEN || kind == LEAVE) {
      // The page may not come back: send now, and no timer while hidden.
      drain(Date.now());
      flush();
      schedule(-1);
    } else {
      if (kind == VISIBLE) adopt();
      after();
    }
  });
  var on = function (target, type, f, options) { target.addEventListener(type, f, options); };
  var passive = { passive: true, capture: true };
  var root = d.documentElement;

  // ---- Boot: the visit from storage, the page's state, the first page view, then the
  // calls made while loading, in order.
  adopt();
  var t0 = perf.now();
  m.signal(d.hasFocus() ? FOCUS : BLUR, t0, 0, 0, 0);
  m.signal(d.visibilityState == 'hidden' ? HIDDEN : VISIBLE, t0, 0, 0, 0);
  pageView(Date.now(), t0, d.referrer);
  queue.forEach(function (call) { calls[call[0]].apply(null, call[1]); });
  ['track', 'page', 'identify'].forEach(function (name) {
    api[name] = guard(function () {
      calls[name].apply(null, [Date.now(), perf.now()].concat([].slice.call(arguments)));
      after();
    });
  });
  api._stop = function () { dead = true; schedule(-1); };

  ['pointerdown', 'keydown', 'touchstart', 'wheel'].forEach(function (type) {
    on(w, type, function () { signal(INPUT); }, passive);
  });
  on(w, 'scroll', function () { signal(SCROLL, w.scrollY + w.innerHeight, w.innerHeight); }, { passive: true });
  on(d, 'visibilitychange', function () { signal(d.visibilityState == 'hidden' ? HIDDEN : VISIBLE); });
  on(w, 'focus', function () { signal(FOCUS); });
  on(w, 'blur', function () { signal(BLUR); });
  on(w, 'pagehide', function () { signal(LEAVE); });
  // A back/forward-cache restore resumes the pageview: no new page view is counted.
  on(w, 'pageshow', function (e) { if (e.persisted) signal(VISIBLE); });
  // The document height, cached in the engine. Both boxes: with `html, body { height:
  // 100% }` only the body grows with the content.
  if (w.ResizeObserver) {
    var sizes = new ResizeObserver(function () {
      signal(HEIGHT, root.scrollHeight, w.scrollY + w.innerHeight, w.innerHeight);
    });
    sizes.observe(root);
    if (d.body) sizes.observe(d.body);
  }
  // Client-side navigations: a page view whenever the URL changes.
  var navigated = guard(function () {
    if (loc.href != lastHref) {
      calls.page(Date.now(), perf.now());
      after();
    }
  });
  ['pushState', 'replaceState'].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      navigated();
      return result;
    };
  });
  on(w, 'popstate', navigated);
  // Declarative events: data-rapport-event="name" with data-rapport-prop-<key>="value".
  on(d, 'click', function (e) {
    var el = e.target && e.target.closest && e.target.closest('[data-rapport-event]');
    if (!el) return;
    var props = {};
    [].forEach.call(el.attributes, function (a) {
      if (a.name.indexOf('data-rapport-prop-') == 0) props[a.name.slice(18)] = a.value;
    });
    api.track(el.getAttribute('data-rapport-event'), props);
  }, true);
  after();
  return true;
}
