// Rapport's browser driver: everything the engine (src/lib.rs, rapport-core) does not.
//
// The engine decides: sessions, pageviews, engaged time, scroll milestones, bounce and when
// to wake. This file carries its commands out: it draws ids, builds the events (strings,
// URLs, properties), persists under the `rapport:` prefix, sends batches, and feeds the
// engine the page's signals with numbers only. The module's exports take and return numbers
// only (booleans arrive as 0 or 1), so the embeddable build calls them directly, without
// wasm-bindgen's glue; on trunk's development page they come through trunk's glue.
//
// Nothing here may throw into the host page: every entry point (each API call, each replayed
// early call, each listener, the timer, each promise callback) is guarded on its own, so one
// bad call costs that call only. Objects built from the page's input have no prototype, so
// no property name can reach a frozen or polluted built-in one.

var PREFIX = 'rapport:';
var NAME = /^[a-z0-9_.-]{1,64}$/;
var UTM = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
// No request body above this: the 64 KiB keepalive quota is shared by the page's requests.
var MAX_BYTES = 60000;
var MAX_PROPS_BYTES = 8192;
// Verdicts of the engine's `outcome` (SENT_* in src/lib.rs).
var DELIVERED = 1, SPLIT = 3, DROP = 4;
// A tab's queue untouched for this long belongs to a closed or crashed tab.
var ORPHAN_MS = 10000;
// Command codes (CMD_* in src/lib.rs) and signals (SIGNAL_*).
var NEW_VISITOR = 1, NEW_SESSION = 2, NEW_PAGEVIEW = 3, PAGE_VIEW = 4, ENGAGEMENT = 5, MILESTONE = 6;
var INPUT = 1, VISIBLE = 2, HIDDEN = 3, FOCUS = 4, BLUR = 5, SCROLL = 6, HEIGHT = 7, LEAVE = 8;

/**
 * Starts tracking. `m` is the wasm module's exports, `api` the loader's `window.rapport`, `early` the
 * calls made before now as `[name, [wall time, page time, ...arguments]]`, `script` the
 * script tag, `json` the JSON methods as the loader found them (before page scripts could
 * replace them). Returns false after one console error naming the field when the config is bad.
 */
export function start(m, api, early, script, json) {
  var w = window, d = document, loc = location, nav = navigator, perf = performance;
  var J = json || JSON;
  var bare = function () { return Object.create(null); };
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
  var format = attr('format') || 'rapport';
  if (!/^(rapport|segment|posthog)$/.test(format)) return fail('format', 'must be rapport, segment or posthog');
  var apiKey = attr('api-key') || '';
  // data-compress="gzip": batches sent by fetch are gzipped where the browser has
  // CompressionStream, and the URL says so (a beacon could not set Content-Encoding, so the
  // URL is the one way for both). Beacons on the way out go uncompressed, without the flag.
  var compress = attr('compress');
  if (compress != null && compress != 'gzip') return fail('compress', 'must be "gzip"');
  var zipped = compress && typeof CompressionStream == 'function' ? endpoint + (endpoint.indexOf('?') < 0 ? '?' : '&') + 'encoding=gzip' : '';
  if (format == 'posthog' && !apiKey) return fail('api-key', 'is required with data-format="posthog"');
  var num = function (n) { var v = attr(n); return v == null || isNaN(+v) ? NaN : +v; };
  m.delivery_init(num('batch-size'), num('batch-bytes'), num('batch-wait'), num('queue-budget'),
    num('backoff-base'), num('backoff-cap'));
  var timeout = Math.min(Math.max(num('timeout') || 10000, 1000), 60000);
  var refParam = attr('ref-param');
  if (refParam == null) refParam = 'ref';
  if (refParam && !NAME.test(refParam)) return fail('ref-param', "must be empty or 1-64 characters of a-z, 0-9, '_', '.' and '-'");

  // ---- Storage: JSON under the prefix; full, blocked or corrupt storage reads as empty.
  var load = function (key) {
    try {
      var v = J.parse(localStorage.getItem(PREFIX + key));
      return v && typeof v == 'object' ? v : null;
    } catch (e) { return null; }
  };
  var save = function (key, value) {
    try {
      if (value) localStorage.setItem(PREFIX + key, J.stringify(value));
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
  var visit = {}; // v: visitor id, s: session id, c: the session's campaign, x: its experiments
  var adopt = function () {
    var stored = load('visit'), n = stored && stored.n;
    if (n instanceof Array && n.length == 7 && typeof stored.v == 'string' && typeof stored.s == 'string' &&
      m.restore(n[0], n[1], n[2], n[3], n[4], n[5], !!n[6], stored.s == visit.s)) {
      visit = { v: stored.v, s: stored.s, c: String(stored.c || ''), x: fill(stored.x && typeof stored.x == 'object' ? stored.x : {}) };
    }
  };
  var persist = function () {
    for (var n = [], i = 0; i < 7; i++) n[i] = m.visit(i);
    save('visit', { v: visit.v, s: visit.s, c: visit.c, x: visit.x, n: n });
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

  var heard, missed = []; // the UI stage's listener, and event names from before it came
  var attribution = load('attribution'); // { t: captured at, p: { utm_*, referral_code } }
  var user = load('user'); // { id, hash } from identify()
  var pageview, pageUrl, referrer, nextUrl, nextReferrer, campaign = '', lastHref = loc.href;

  var emit = function (name, props, now) {
    var a = attribution && attribution.p, keys = a && typeof a == 'object' ? Object.keys(a) : [], k, i;
    for (i = 0; i < keys.length; i++) if (!((k = keys[i]) in props)) props[k] = a[k];
    // The session's experiments ride on each of its events, so any backend can slice by them.
    keys = visit.x ? Object.keys(visit.x) : [];
    for (i = 0; i < keys.length; i++) if (!('exp:' + keys[i] in props)) props['exp:' + keys[i]] = visit.x[keys[i]];
    user = load('user'); // another tab may have signed someone else in, or out
    if (user) {
      if (!('user_id' in props)) props.user_id = user.id;
      // The hash proves the identity to the collector (feedback points); it goes only where
      // it is needed, not on every event.
      if (user.hash && name == 'feedback_submitted' && !('user_hash' in props)) {
        props.user_hash = user.hash;
        if (user.exp) props.user_expires = user.exp;
      }
    }
    var event = {
      id: uuid(), name: name, ts: now, visitor_id: visit.v, session_id: visit.s,
      pageview_id: pageview, returning: !!m.returning(), url: pageUrl, props: props
    };
    if (name == 'page_view' && referrer) event.referrer = referrer;
    enqueue(J.stringify(event));
    try { heard ? heard(name) : /^(page_view|page_engagement|scroll_milestone)$/.test(name) || missed.length < 50 && (missed[missed.length] = name); } catch (e) { /* a prompt failed; tracking goes on */ }
  };

  // The own properties of a literal, on an object without a prototype.
  var fill = function (from) {
    var to = bare(), keys = Object.keys(from);
    for (var i = 0; i < keys.length; i++) to[keys[i]] = from[keys[i]];
    return to;
  };

  // Carries out the engine's commands, in order.
  var drain = function (now) {
    for (var c; (c = m.next());) {
      if (c == NEW_VISITOR) visit.v = uuid();
      else if (c == NEW_SESSION) { visit.s = uuid(); visit.c = campaign; visit.x = bare(); }
      else if (c == NEW_PAGEVIEW) { pageview = uuid(); pageUrl = nextUrl; referrer = nextReferrer; }
      else if (c == PAGE_VIEW) emit('page_view', fill({ visit_count: m.visit(1), first_seen: m.visit(0) }), now);
      else if (c == ENGAGEMENT) {
        emit('page_engagement', fill({
          engaged_ms: m.arg(0), scroll_max: m.arg(1), bounce: !!m.arg(2),
          session_engaged_ms: m.arg(3), session_pageviews: m.arg(4), key_event: !!m.arg(5)
        }), now);
      } else if (c == MILESTONE) emit('scroll_milestone', fill({ depth: m.arg(0) }), now);
      else persist();
    }
  };

  // ---- The queue. Every event is written to storage before it is sent and removed once
  // the backend acknowledged it. Each tab writes only its own key; the queue of a closed or
  // crashed tab is adopted (under a Web Lock, or a lease in storage) by the next tab that
  // sends, so every event is sent by one tab. Full or blocked storage falls back to memory.
  var tab = uuid(), own = PREFIX + 'q:' + tab;
  var queue = []; // event JSON, oldest first
  var dropped = 0; // dropped for the budget or refused, reported on the next batch
  var memory = false, warned = {}, oldest = 0, inFlight = false, limit = 1e9, transport = {}, fresh = false;
  var orphanWake = -1; // when another tab's queue turns stale
  var version = 0, sentVersion = -1; // queue changes, and the change last sent by sendAll
  var flying = []; // the events of the fetch in flight, which sendAll leaves to it
  var flyingKept = false; // that fetch is keepalive: the browser finishes it if the page goes
  var encoder = new TextEncoder();
  var leaving = false; // pagehide came: the page is being left
  var warnOnce = function (key, message) {
    if (!warned[key]) { warned[key] = 1; log(message); }
  };
  var size = function () {
    for (var n = 0, i = 0; i < queue.length; i++) n += queue[i].length;
    return n;
  };
  var keep = function (closed) {
    if (memory) return;
    try {
      // The events go in as they are (not as escaped strings), so the budget counts what
      // storage holds. A closed queue is another tab's at once: without the events of a
      // keepalive fetch in flight, which the browser delivers after the page is gone.
      var skip = closed && flyingKept ? new Set(flying) : 0;
      var kept = skip ? queue.filter(function (e) { return !skip.has(e); }) : queue;
      if (kept.length || dropped) localStorage.setItem(own, '{"t":' + (closed ? 0 : Date.now()) + ',"d":' + dropped + ',"e":[' + kept.join(',') + ']}');
      else localStorage.removeItem(own);
    } catch (e) {
      memory = true;
      warnOnce('storage', 'storage is full or blocked (' + e.name + '); events are kept in memory');
    }
  };
  var enqueue = function (json) {
    fresh = true;
    version++;
    if (!queue.length) oldest = perf.now();
    queue[queue.length] = json;
    while (queue.length > 1 && m.over_budget(size())) { queue.shift(); dropped++; }
    keep();
  };
  // Takes over the queues of closed and crashed tabs; unreadable ones are discarded.
  var adoptQueues = function () {
    var taken = [], now = Date.now(), stale = now - ORPHAN_MS, k, v, i;
    orphanWake = -1;
    try {
      for (i = localStorage.length; i--;) {
        k = localStorage.key(i);
        if (!k || k.indexOf(PREFIX + 'q:') || k == own) continue;
        try { v = J.parse(localStorage.getItem(k)); } catch (e) { v = 0; }
        if (!v || !(v.e instanceof Array) || v.e.some(function (x) { return !x || typeof x.id != 'string'; })) {
          localStorage.removeItem(k);
          warnOnce('corrupt', 'discarded an unreadable event queue from storage');
        } else if (v.t < stale) {
          taken = taken.concat(v.e.map(function (x) { return J.stringify(x); }));
          dropped += +v.d || 0;
          localStorage.removeItem(k);
        } else if (v.e.length) {
          // Another tab's, still fresh: look again when it would be stale.
          var wait = v.t - stale + 50;
          if (orphanWake < 0 || wait < orphanWake) orphanWake = wait;
        }
      }
    } catch (e) { /* storage blocked: nothing to adopt */ }
    if (taken.length) {
      version++;
      queue = taken.concat(queue);
      oldest = 0; // from earlier pages: due at once
      keep();
      if (!inFlight) schedule(0);
    } else if (orphanWake >= 0 && !timer) schedule(orphanWake);
  };
  var adoptLocked = function () {
    if (inFlight || memory) return;
    if (nav.locks) {
      nav.locks.request('rapport:adopt', { ifAvailable: true }, function (lock) {
        if (lock) guard(adoptQueues)();
      }).catch(function () {});
      return;
    }
    try { // no Web Locks: a lease in storage
      var key = PREFIX + 'lease', lease = J.parse(localStorage.getItem(key));
      if (lease && lease.tab != tab && lease.until > Date.now()) return;
      localStorage.setItem(key, J.stringify({ tab: tab, until: Date.now() + ORPHAN_MS }));
      if (J.parse(localStorage.getItem(key)).tab == tab) adoptQueues();
    } catch (e) { /* storage blocked */ }
  };

  // The body for a batch of event JSON, in the configured format; beforeSend may reshape it
  // or veto it (null).
  var iso = function (t) { return new Date(t).toISOString(); };
  var body = function (events) {
    var batch;
    if (format == 'rapport') {
      var native = '{"site":' + J.stringify(site) + ',"sent_at":' + Date.now() + (dropped ? ',"dropped":' + dropped : '') +
        ',"events":[' + events.join(',') + ']}';
      if (!transport.beforeSend) return native;
      batch = J.parse(native);
    } else {
      var list = events.map(function (j) { return J.parse(j); });
      batch = format == 'segment' ? {
        batch: list.map(function (e) {
          var page = e.name == 'page_view';
          return {
            type: page ? 'page' : 'track', event: page ? undefined : e.name, properties: e.props,
            anonymousId: e.visitor_id, userId: e.props.user_id, messageId: e.id, timestamp: iso(e.ts),
            context: { page: { url: e.url, referrer: e.referrer }, sessionId: e.session_id, library: { name: 'rapport' } }
          };
        }),
        sentAt: iso(Date.now())
      } : {
        api_key: apiKey,
        batch: list.map(function (e) {
          var props = fill({ distinct_id: e.visitor_id, $current_url: e.url, $session_id: e.session_id, $referrer: e.referrer });
          var own = Object.keys(e.props || {});
          for (var i = 0; i < own.length; i++) props[own[i]] = e.props[own[i]];
          return { event: e.name == 'page_view' ? '$pageview' : e.name, properties: props, timestamp: iso(e.ts), uuid: e.id };
        })
      };
    }
    if (transport.beforeSend) {
      try {
        var shaped = transport.beforeSend(batch);
        if (shaped !== undefined) batch = shaped; // null vetoes; no answer keeps the batch
      } catch (e) {
        warnOnce('beforeSend', 'beforeSend threw, so the batch was sent as it was: ' + e);
      }
    }
    return batch == null ? null : J.stringify(batch);
  };

  // The events from position `from` that fit one request: at most `cap`, and at most
  // MAX_BYTES of UTF-8 (the keepalive quota counts bytes).
  var take = function (list, from, cap) {
    var events = [], bytes = 200, next, size;
    while (from + events.length < list.length && events.length < cap) {
      next = list[from + events.length];
      size = encoder.encode(next).length + 1;
      if (events.length && bytes + size > MAX_BYTES) break;
      events[events.length] = next;
      bytes += size;
    }
    return events;
  };
  // Removes these events wherever they are now (the queue may have changed while they were
  // in flight) and puts `again` back in front.
  var remove = function (events, again) {
    var gone = new Set(events);
    queue = (again || []).concat(queue.filter(function (e) { return !gone.has(e); }));
    keep();
  };
  var beacon = function (payload) {
    try { return nav.sendBeacon(endpoint, payload); } catch (e) { return false; }
  };
  // One batch by fetch (keepalive, with a timeout); its outcome goes to the engine.
  var send = function () {
    var events = take(queue, 0, Math.min(limit, m.batch_size()));
    var payload = body(events), reported = dropped;
    if (payload == null) return remove(events); // vetoed
    var done = guard(function (status, retryAfter, answer) {
      inFlight = false;
      flying = [];
      flyingKept = false;
      var verdict = m.outcome(perf.now(), status, retryAfter, Math.random());
      if (verdict == DELIVERED) {
        dropped = Math.max(0, dropped - reported);
        limit = 1e9;
        // Only the rejects the backend calls retryable are sent again.
        var again = (answer && answer.rejected instanceof Array ? answer.rejected : []).filter(function (r) {
          return r && r.retryable && events[r.index];
        }).map(function (r) { return events[r.index]; });
        remove(events, again);
      } else if (verdict == SPLIT) {
        if (events.length > 1) limit = Math.ceil(events.length / 2);
        else {
          warnOnce('large', 'an event larger than the backend accepts was dropped');
          dropped++;
          remove(events);
        }
      } else if (verdict == DROP) {
        warnOnce('refused', 'the backend refused a batch (HTTP ' + status + '); its events were dropped');
        dropped += events.length;
        remove(events);
      }
      schedule(0);
    }, 'delivery');
    inFlight = true;
    flying = events;
    try {
      var abort = new AbortController(), timer = abortTimer = setTimeout(function () { abort.abort(); }, timeout);
      var post = function (data, size, url) {
        flyingKept = size < 65000;
        var init = { method: 'POST', body: data, keepalive: flyingKept, signal: abort.signal };
        if (transport.headers) init.headers = transport.headers;
        return fetch(url, init);
      };
      (zipped
        ? new Response(new Blob([payload]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer().then(function (gz) {
          return post(new Blob([gz], { type: 'text/plain' }), gz.byteLength, zipped);
        })
        : post(payload, encoder.encode(payload).length, endpoint)
      ).then(function (r) {
        var retryAfter = r.headers.get('Retry-After');
        retryAfter = retryAfter == null || retryAfter === '' ? NaN : +retryAfter;
        return r.text().then(function (text) {
          clearTimeout(timer);
          var answer;
          try { answer = J.parse(text); } catch (e) { /* judged by status alone */ }
          done(r.status, retryAfter, answer);
        });
      }).catch(function () {
        clearTimeout(timer);
        done(0, NaN);
      });
    } catch (e) {
      // The host page broke fetch: the beacon carries it, without an answer.
      done(beacon(payload) ? 200 : 0, NaN);
    }
  };
  // The page is being hidden or left: everything not already in flight goes now, by beacon
  // in chunks under the keepalive quota (keepalive fetch when a beacon is refused or headers
  // are needed). What the browser took is sent once: it leaves the queue and storage, so
  // neither this page (pagehide after beforeunload, visible again) nor another tab adopting
  // the queue sends it again. A keepalive fetch that fails while the page still lives puts
  // its events back. What the browser did not take stays stored, marked closed when the page
  // is being left (`final`), and the next page of the site or another tab sends it. Only
  // then: a queue marked closed is another tab's to adopt at once, so it must no longer hold
  // what the beacons carry.
  var sendAll = function (final) {
    if (nav.onLine === false || version == sentVersion) {
      if (final) keep(true);
      return;
    }
    sentVersion = version;
    var skip = new Set(flying), handed = [];
    var pending = queue.filter(function (e) { return !skip.has(e); });
    for (var at = 0, chunk, payload; at < pending.length; at += chunk.length) {
      chunk = take(pending, at, 1e9);
      payload = body(chunk);
      if (payload != null && (transport.headers || !beacon(payload))) {
        try {
          fetch(endpoint, { method: 'POST', body: payload, keepalive: true, headers: transport.headers })
            .then(function (r) { if (r.status >= 500 || r.status == 429) throw 0; })
            .catch(guard(back.bind(null, chunk), 'delivery'));
        } catch (e) { break; /* neither: the rest stay queued */ }
      }
      handed = handed.concat(chunk); // sent, or vetoed by beforeSend
      dropped = 0; // reported with the first chunk
    }
    if (handed.length) remove(handed);
    if (final) keep(true);
  };
  // Events of a keepalive fetch that failed while the page lives: queued again, first.
  var back = function (events) {
    queue = events.concat(queue);
    version++;
    keep();
    schedule(0);
  };

  // ---- The one timer: the engine says when to wake (heartbeats, the next send); calls in
  // one task share a batch.
  var dead = false, timer = 0, abortTimer = 0;
  // Runs `f` so that nothing it throws reaches the page; the console names `what` failed.
  var guard = function (f, what) {
    return function () {
      if (dead) return;
      try {
        return f.apply(this, arguments);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) dead = true; // a bug: stop rather than risk more
        log((what || 'the tracker') + ' failed: ' + e, 1);
      }
    };
  };
  var schedule = function (wait) {
    clearTimeout(timer);
    timer = wait >= 0 ? setTimeout(tick, wait) : 0;
  };
  var tick = guard(function tick() {
    timer = 0;
    var t = perf.now(), wake = m.timer(Date.now(), t), due;
    drain(Date.now());
    adoptLocked();
    if (!inFlight) {
      due = m.due(t, queue.length, size(), oldest, false);
      if (due == 0) send();
      else if (due > 0 && (wake < 0 || due < wake)) wake = due;
    }
    if (orphanWake >= 0 && (wake < 0 || orphanWake < wake)) wake = orphanWake;
    if (queue.length) {
      // Keep this tab's queue fresh, so no other tab takes it for a crashed one's.
      keep();
      if (wake < 0 || wake > ORPHAN_MS / 2) wake = ORPHAN_MS / 2;
    }
    schedule(wake);
  }, 'the timer');
  // After an input or a call: new events need the send time worked out again.
  var after = function () {
    drain(Date.now());
    if (!timer || fresh) schedule(0);
    fresh = false;
  };

  // ---- The public calls; `now` and `t` are the wall and page time the page made them.
  var pageView = function (now, t, from) {
    deepest = 0; // a new page is read from its top
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

  // Reads the page's props once, defensively (getters and proxies may throw), into an object
  // without a prototype: [problem] or [null, copy].
  var check = function (props) {
    if (props == null) return [null, bare()];
    var copy = bare(), keys;
    try {
      if (typeof props != 'object' || Array.isArray(props)) return ['props must be a flat object of strings, numbers, booleans or null'];
      keys = Object.keys(props);
      for (var i = 0; i < keys.length; i++) copy[keys[i]] = props[keys[i]];
    } catch (e) {
      return ['props could not be read (' + e + ')'];
    }
    for (i = 0; i < keys.length; i++) {
      var k = keys[i], v = copy[k], t = typeof v;
      if (k.length > 64 || !k) return ['props keys must be 1-64 characters'];
      if (t == 'number' && !isFinite(v)) return ['props numbers must be finite'];
      if (v !== null && t != 'string' && t != 'number' && t != 'boolean') {
        return ['props must be a flat object of strings, numbers, booleans or null'];
      }
    }
    if (encoder.encode(J.stringify(copy)).length > MAX_PROPS_BYTES) return ['props are larger than 8 KB when serialized'];
    return [null, copy];
  };

  // The visitor's variant, assigned by the engine's module from the visitor and experiment
  // ids; the first time in a session it is recorded as `experiment_exposed`.
  var experiment = function (now, id, variants, options, call) {
    if (call.done) return; // the page already showed the first variant: no exposure
    var list = [], weights, i, n, bad = '', label = typeof id == 'string' ? J.stringify(id) : typeof id;
    try {
      if (Array.isArray(variants)) for (i = 0; i < variants.length && i <= 10; i++) list[i] = variants[i];
      weights = options == null ? undefined : options.weights;
      if (weights != null) weights = Array.isArray(weights) ? weights.slice(0, 11) : 0;
    } catch (e) {
      bad = 'its arguments could not be read (' + e + ')';
    }
    if (!bad && (typeof id != 'string' || !NAME.test(id) || id.length > 48)) bad = "id must be 1-48 characters of a-z, 0-9, '_', '.' and '-'";
    if (!bad && (!list.length || list.length > 10 || list.some(function (v, j) { return typeof v != 'string' || !NAME.test(v) || list.indexOf(v) != j; }))) {
      bad = "variants must be 1-10 distinct names of a-z, 0-9, '_', '.' and '-'";
    }
    if (!bad && weights !== undefined && weights !== null && (!weights || weights.length != list.length || !weights.some(function (w) { return w > 0; }) ||
      weights.some(function (w) { return typeof w != 'number' || !isFinite(w) || w < 0; }))) {
      bad = 'weights must be one number of at least 0 per variant, not all 0';
    }
    if (!bad) {
      m.exp_start();
      var key = encoder.encode(visit.v + '\u0000' + id);
      for (i = 0; i < key.length; i++) m.exp_byte(key[i]);
      for (i = 0; i < list.length; i++) m.exp_weight(weights ? weights[i] : 1);
      n = m.exp_pick();
      if (n < 0) bad = 'weights must be one number of at least 0 per variant, not all 0';
    }
    if (bad) {
      log('experiment(' + label + ') ' + bad + '; the first variant is shown');
      return call.resolve(typeof list[0] == 'string' ? list[0] : null);
    }
    if (!visit.x) visit.x = bare();
    if (visit.x[id] == null) {
      visit.x[id] = list[n];
      persist();
      emit('experiment_exposed', fill({ experiment: id, variant: list[n], variant_index: n }), now);
    }
    call.resolve(list[n]);
  };
  // Declarative experiments: a [data-rapport-experiment] element shows the one of its
  // [data-rapport-variant] elements that is the visitor's variant.
  var decide = guard(function () {
    var boxes = d.querySelectorAll('[data-rapport-experiment]');
    [].forEach.call(boxes, function (box) {
      if (box.querySelector('[data-rapport-chosen]')) return;
      var options = box.querySelectorAll('[data-rapport-variant]'), names = [];
      for (var i = 0; i < options.length; i++) names[i] = options[i].getAttribute('data-rapport-variant');
      experiment(Date.now(), box.getAttribute('data-rapport-experiment'), names, null, {
        resolve: function (chosen) {
          var at = names.indexOf(chosen);
          if (options[at < 0 ? 0 : at]) options[at < 0 ? 0 : at].setAttribute('data-rapport-chosen', '');
        }
      });
    });
  }, 'a page experiment');

  var calls = {
    track: function (now, t, name, props) {
      var checked = typeof name == 'string' && NAME.test(name)
        ? check(props) : ["name must be 1-64 characters of a-z, 0-9, '_', '.' and '-'"];
      if (checked[0]) return log('track(' + (typeof name == 'string' ? J.stringify(name) : typeof name) + ') dropped the event: ' + checked[0]);
      m.event(now, keyEvents.indexOf(name) >= 0);
      drain(now);
      emit(name, checked[1], now);
    },
    page: function (now, t) {
      pageView(now, t, lastHref);
    },
    experiment: function (now, t, id, variants, options, call) {
      experiment(now, id, variants, options, call);
    },
    // Each option is checked on its own; a bad one is ignored with a warning naming it.
    configure: function (now, t, options) {
      var given, headers, beforeSend, names, i, k, v, set = bare(), next = { headers: transport.headers, beforeSend: transport.beforeSend };
      try {
        given = options && options.transport;
        if (!given || typeof given != 'object') return log('configure() ignored: expected { transport: { headers, beforeSend } }');
        headers = given.headers;
        beforeSend = given.beforeSend;
        if (headers != null) {
          if (typeof headers != 'object' || Array.isArray(headers)) throw 'headers';
          if (typeof Headers == 'function' && headers instanceof Headers) {
            headers.forEach(function (value, name) { set[name] = value; });
          }
          names = Object.keys(headers);
          for (i = 0; i < names.length; i++) {
            k = names[i];
            v = headers[k];
            if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || typeof v != 'string' || /[\r\n\0]/.test(v)) throw 'headers';
            set[k] = v;
          }
        }
      } catch (e) {
        if (e !== 'headers') return log('configure() ignored: its options could not be read (' + e + ')');
        headers = undefined;
        log('configure() ignored transport.headers: it must be an object of header names to string values');
      }
      if (headers !== undefined) next.headers = headers == null ? undefined : set;
      if (beforeSend !== undefined) {
        if (beforeSend == null || typeof beforeSend == 'function') next.beforeSend = beforeSend || undefined;
        else log('configure() ignored transport.beforeSend: it must be a function');
      }
      transport = next;
    },
    identify: function (now, t, id, options) {
      var hash, exp;
      if (id === null) return save('user', user = null); // signed out
      if (typeof id != 'string' || !/^[!-~]{1,256}$/.test(id)) return log('identify() ignored: userId must be 1-256 printable ASCII characters without spaces');
      try {
        hash = options == null ? undefined : options.hash;
        exp = options == null ? undefined : options.expires;
      } catch (e) {
        return log('identify() ignored: its options could not be read (' + e + ')');
      }
      if (hash != null && (typeof hash != 'string' || hash.length > 128)) return log('identify() ignored: hash must be a string of at most 128 characters');
      if (exp != null && !(exp > 0 && exp % 1 == 0)) return log('identify() ignored: expires must be unix seconds');
      save('user', user = { id: id, hash: hash || '', exp: exp });
    }
  };

  // ---- Page signals: numbers only. Scrolling is read once per animation frame, however
  // many scroll events the frame had: the handler only asks for the frame.
  var scrollFrame = 0, deepest = 0, lastRead = -1e9;
  // One read of scrollY and innerHeight. The engine hears it when the page is read deeper
  // than before (depth and milestones), else at most every 250 ms (scrolling is input that
  // keeps the pageview engaged).
  var readScroll = function () {
    scrollFrame = 0;
    var view = w.innerHeight, bottom = w.scrollY + view, t = perf.now();
    if (bottom > deepest || t - lastRead >= 250) {
      if (bottom > deepest) deepest = bottom;
      lastRead = t;
      signal(SCROLL, bottom, view);
    }
  };
  var onScroll = function () {
    if (!scrollFrame) {
      try { scrollFrame = requestAnimationFrame(readScroll); } catch (e) { readScroll(); } // no frames: read now
    }
  };
  var signal = guard(function (kind, a, b, c) {
    if ((kind == HIDDEN || kind == LEAVE) && scrollFrame) {
      // The frame will not come while hidden: the last scroll counts now.
      cancelAnimationFrame(scrollFrame);
      readScroll();
    }
    m.signal(kind, Date.now(), perf.now(), a || 0, b || 0, c || 0);
    if (kind == HIDDEN || kind == LEAVE) {
      // The page may not come back: send now, and no timer while hidden.
      drain(Date.now());
      if (kind == LEAVE) leaving = true;
      sendAll(leaving);
      schedule(-1);
    } else {
      if (kind == VISIBLE) adopt();
      after();
    }
  }, 'the tracker');
  // Every listener is kept, so that destroy() can release it.
  var attached = [];
  var listen = function (target, type, f, options) {
    target.addEventListener(type, f, options);
    attached[attached.length] = [target, type, f, options];
  };
  var on = function (target, type, f, options) { listen(target, type, guard(f, 'the ' + type + ' listener'), options); };
  var sizes, patched = [], uiStop;
  // Releases everything this page's tracker attached: listeners, the timer, the history
  // patches (where no one wrapped them since), the observer, the UI stage. What is queued
  // stays stored for the next page.
  var teardown = function () {
    dead = true;
    schedule(-1);
    clearTimeout(abortTimer);
    try { cancelAnimationFrame(scrollFrame); } catch (e) { /* none pending */ }
    clearTimeout(api._t);
    for (var i = 0; i < attached.length; i++) attached[i][0].removeEventListener(attached[i][1], attached[i][2], attached[i][3]);
    attached = [];
    if (sizes) sizes.disconnect();
    for (i = 0; i < patched.length; i++) if (history[patched[i][0]] === patched[i][2]) history[patched[i][0]] = patched[i][1];
    patched = [];
    heard = null;
    api._experiment = null; // experiment() now resolves with the first variant, as when off
    try { if (typeof uiStop == 'function') uiStop(); } catch (e) { /* the stage stops as far as it can */ }
  };
  calls.destroy = teardown;
  var passive = { passive: true, capture: true };
  var root = d.documentElement;

  // ---- Boot: the visit from storage, the page's state, the first page view, then the
  // calls made while loading, in order.
  adopt();
  var t0 = perf.now();
  m.signal(d.hasFocus() ? FOCUS : BLUR, Date.now(), t0, 0, 0, 0);
  m.signal(d.visibilityState == 'hidden' ? HIDDEN : VISIBLE, Date.now(), t0, 0, 0, 0);
  pageView(Date.now(), t0, d.referrer);
  // Each call made while loading is replayed on its own: a bad one costs only itself.
  for (var e = 0; e < early.length; e++) guard(calls[early[e][0]], early[e][0] + '()').apply(null, early[e][1]);
  if (dead) return true; // destroy() was among them: nothing is attached
  ['track', 'page', 'identify', 'configure'].forEach(function (name) {
    api[name] = guard(function () {
      var args = [Date.now(), perf.now()];
      for (var i = 0; i < arguments.length; i++) args[args.length] = arguments[i];
      calls[name].apply(null, args);
      after();
    }, name + '()');
  });
  api._stop = api.destroy = function () {
    try { teardown(); } catch (e) { /* released as far as it could */ }
  };
  api._experiment = guard(function (id, variants, options, call) {
    experiment(Date.now(), id, variants, options, call);
    after();
  }, 'experiment()');
  decide();
  if (d.readyState == 'loading') on(d, 'DOMContentLoaded', function () { decide(); after(); });
  if (nav.onLine === false) m.online(false);

  ['pointerdown', 'keydown', 'touchstart', 'wheel'].forEach(function (type) {
    listen(w, type, function () { signal(INPUT); }, passive); // guarded inside signal
  });
  // The hot path: a scroll event costs a flag test; the frame reads scrollY and innerHeight.
  listen(w, 'scroll', onScroll, { passive: true });
  on(d, 'visibilitychange', function () { signal(d.visibilityState == 'hidden' ? HIDDEN : VISIBLE); });
  on(w, 'focus', function () { signal(FOCUS); });
  on(w, 'blur', function () { signal(BLUR); });
  on(w, 'pagehide', function () { signal(LEAVE); });
  // Offline pauses sending; back online, the queue goes at once.
  on(w, 'offline', function () { m.online(false); });
  on(w, 'online', function () { m.online(true); schedule(0); });
  // A back/forward-cache restore resumes the pageview: no new page view is counted.
  on(w, 'pageshow', function (e) {
    if (e.persisted) {
      leaving = false;
      keep(); // no longer closed
      signal(VISIBLE);
    }
  });
  // Before a navigation starts, what is queued goes out; it stays stored until acknowledged.
  on(w, 'beforeunload', function () { sendAll(true); });
  // Another tab left and marked its queue closed: take it over now rather than on the next
  // timer, which an idle tab may not have.
  on(w, 'storage', function (e) {
    if (e.key && !e.key.indexOf(PREFIX + 'q:') && e.key != own && !(e.newValue || '').indexOf('{"t":0,')) adoptLocked();
  });
  // The document height, cached in the engine. Both boxes: with `html, body { height:
  // 100% }` only the body grows with the content.
  if (w.ResizeObserver) {
    sizes = new ResizeObserver(function () {
      signal(HEIGHT, root.scrollHeight, w.scrollY + w.innerHeight, w.innerHeight);
    });
    sizes.observe(root);
    if (d.body) sizes.observe(d.body);
  }
  // Client-side navigations: a page view whenever the URL changes.
  var navigated = guard(function () {
    if (clean(loc.href) != clean(lastHref)) {
      calls.page(Date.now(), perf.now());
      decide();
      after();
    }
  }, 'the page view of a navigation');
  ['pushState', 'replaceState'].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      navigated();
      return result;
    };
    patched[patched.length] = [name, original, history[name]];
  });
  on(w, 'popstate', navigated);
  // Declarative events: data-rapport-event="name" with data-rapport-prop-<key>="value".
  on(d, 'click', function (e) {
    var el = e.target && e.target.closest && e.target.closest('[data-rapport-event]');
    if (!el) return;
    var props = bare(), attributes = el.attributes;
    for (var i = 0; i < attributes.length; i++) {
      if (attributes[i].name.indexOf('data-rapport-prop-') == 0) props[attributes[i].name.slice(18)] = attributes[i].value;
    }
    api.track(el.getAttribute('data-rapport-event'), props);
  }, true);
  after();

  // ---- The UI stage (ui/): feedback prompts and the loyalty and referral panels, fetched in
  // idle time and only when the site config (inline in data-config, else served next to the
  // endpoint) has any; the module's download starts with the script's. It reads the engine's
  // facts and hears every event emitted here.
  var siteApi = format == 'rapport' ? new URL('sites/' + site + '/', endpoint).href : '';
  var ui = function (config) {
    if (dead || !config || !((config.prompts || []).length || config.loyalty || config.referral)) return;
    var base = new URL('.', script.src).href;
    (w.requestIdleCallback || setTimeout)(function () {
      var wasm = fetch(base + 'rapport_ui_bg.wasm');
      wasm.catch(function () { /* reported with the import below */ });
      import(base + 'rapport_ui.js').then(function (stage) {
        return stage.default({ module_or_path: wasm }).then(function () {
          if (dead) return;
          uiStop = stage.start({
            track: api.track,
            facts: function () { // null once tracking stopped (opt-out, consent withdrawn)
              var t = perf.now(), a = attribution && attribution.p;
              return dead ? null : [m.fact(0, t), m.fact(1, t), m.visit(4), m.visit(2), +m.returning(), a && a.referral_code ? 1 : 0, visit.v, visit.s];
            },
            listen: function (f) { heard = f; missed.forEach(f); },
            api: siteApi,
            ref: refParam,
            locale: attr('locale')
          }, config);
        });
      }).catch(function (e) { log('could not load the prompts from ' + base + ': ' + e, 1); });
    });
  };
  var inline = attr('config'), parsed;
  if (inline) {
    try { parsed = J.parse(inline); } catch (e) { log('config field "data-config" is not valid JSON; no prompts are shown', 1); }
    ui(parsed);
  } else if (format == 'rapport') {
    try { fetch(siteApi + 'config').then(function (r) { return r.ok && r.json(); }).then(ui).catch(function () {}); } catch (e) { /* no fetch: no prompts */ }
  }
  return true;
}
