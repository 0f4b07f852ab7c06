// Rapport's UI stage: the loyalty and referral panels, the JavaScript half. `cargo xtask
// dist` appends this file after prompts.js, whose `start` calls `panels`. It reads the
// shopper's balance and referral code from the loyalty backend (the collector, or the
// endpoints in the config's `panels`), formats numbers and dates for the language, and has
// the wasm module (`panel`, `launcher`, `panel_words`) render them. The backend is the
// authority: nothing here changes a balance except asking it to redeem.
//
// Nothing here may throw into the host page: every entry point (timers, listeners,
// callbacks, promise continuations) runs inside `guard`.

/**
 * `c`: { host, config, lang, shadowHost(parent) -> [element, mount] (listed for closing
 * when tracking stops), unplace(element), listen(f), tier(id | null), log, load, save }.
 * Returns null when the config has neither program, else { open(0 points | 1 referral,
 * opener) -> opened, nudge(language) -> the promoters' invitation or '', stop() }.
 */
function panels(c) {
  var host = c.host, config = c.config, d = document, nav = navigator, lang = c.lang;
  var isObject = function (v) { return !!v && typeof v == 'object' && !(v instanceof Array); };
  var list = function (v) { return v instanceof Array ? v : []; };
  var program = isObject(config.loyalty) ? config.loyalty : null, offerText = isObject(config.referral) && config.referral.offer;
  if (!program && !offerText) return null;
  var settings = isObject(config.panels) ? config.panels : {};
  var guard = function (f) {
    return function () {
      try { return f.apply(this, arguments); } catch (e) { c.log('the rewards panel stopped an error: ' + e); }
    };
  };
  var pickIn = function (language, t) { return isObject(t) && (t[language] || t.en) || ''; };
  var pick = function (t) { return pickIn(lang, t); };
  // An endpoint from the config: absolute http(s), or a path on this page's origin; else the
  // collector's.
  var address = function (key, path) {
    var given = settings[key];
    if (given == null) return path == null || !host.api ? '' : host.api + path;
    try {
      var u = new URL(given, location.href);
      if (typeof given == 'string' && !/\\/.test(given) &&
        (/^https?:\/\/[^/]/.test(given) || given[0] == '/' && u.origin == location.origin)) return u.href;
    } catch (e) { /* refused below */ }
    c.log('config field "panels.' + key + '" must be an http(s) URL or a path starting with "/"; it is not used');
    return '';
  };
  var urls = { l: address('loyalty_url', 'loyalty'), r: address('referral_url', 'referral'), redeem: address('redeem_url', 'loyalty/redeem') };
  var signIn = address('sign_in_url'), shareUrl = address('share_url') || location.origin + '/';
  // [copied, share message, e-mail subject, nudge, failed, "{n} points", not redeemed, not copied]
  var words = panel_words(lang);
  var number, unit;
  try {
    number = new Intl.NumberFormat(lang);
    unit = new Intl.NumberFormat(lang, { style: 'currency', currency: /^[A-Z]{3}$/.test(settings.currency) ? settings.currency : 'USD', maximumFractionDigits: 0 }).format(1);
  } catch (e) {
    number = { format: String };
    unit = '$1';
  }
  var n = function (v) { return number.format(+v || 0); };
  var day = function (ms) {
    try { return new Date(ms).toLocaleDateString(lang, { day: 'numeric', month: 'short' }); } catch (e) { return ''; }
  };

  // ---- What the backend said, and the panel's own state. `who` is the shopper (the id) the
  // data belongs to; `signed` the whole identity, whose renewal (a new hash for the same id)
  // only changes the headers. Each resource numbers its reads, so an older answer never
  // overwrites a newer one.
  var state = { open: 0, status: '' }, l = null, r = null, lState = 0, rState = 0, coupon = null, who = '', signed = '', keys = {};
  var lSeq = 0, lApplied = 0, rSeq = 0, rApplied = 0, gainNow = 0;
  var identity = function (u) { return u ? [u.id, u.hash, u.exp].join(' ') : ''; };
  var user = function () {
    var u = c.load('user');
    return typeof u.id == 'string' && u.id && typeof u.hash == 'string' && u.hash ? u : null;
  };
  var headers = function (u, extra) {
    var h = { 'x-rapport-user': u.id, 'x-rapport-user-hash': u.hash }, f = host.facts(), k;
    if (u.exp) h['x-rapport-user-expires'] = String(u.exp);
    if (f && f[6]) h['x-rapport-visitor'] = f[6];
    for (k in extra) h[k] = extra[k];
    return h;
  };
  // The answer's JSON; null for 401 (the identity is not, or no longer, valid); a failure
  // for anything else.
  var read = function (url, u) {
    return fetch(url, { headers: headers(u) }).then(function (res) {
      if (res.status == 401) return null;
      if (!res.ok) throw res.status;
      return res.json().then(function (body) {
        if (!isObject(body)) throw 'not an object';
        return body;
      });
    });
  };
  var earnFrom = function (ways) {
    ways = isObject(ways) ? ways : {};
    return [['feedback', ways.feedback_points], ['referral', ways.referral_points], ['order', ways.points_per_currency_unit]]
      .filter(function (e) { return e[1] > 0; })
      .map(function (e) { return [e[0], n(e[1])]; });
  };
  var tiers = list(program && program.tiers).filter(isObject).map(function (t) { return [pick(t.name), n(t.threshold)]; });
  var loyaltyData = function () {
    if (!l) return { state: lState, signedIn: 0, unit: unit, tiers: tiers, earn: earnFrom(program) };
    var tier = isObject(l.tier) ? l.tier : {}, next = isObject(l.next_tier) && isObject(l.next_tier.tier) ? l.next_tier : null;
    var span = next ? next.tier.threshold - (tier.threshold || 0) : 0, left = next ? +next.points_needed || 0 : 0;
    return {
      state: lState, signedIn: 1, balance: n(l.balance), tier: pick(tier.name), unit: unit, tiers: tiers,
      next: next ? [n(left), pick(next.tier.name)] : null,
      progress: String(span > 0 ? Math.max(0, Math.min(100, Math.floor(100 * (span - left) / span))) : 100),
      earn: earnFrom(l.ways_to_earn),
      rewards: list(l.rewards).filter(function (x) { return isObject(x) && isObject(x.reward); }).map(function (x) {
        return [String(x.reward.id), pick(x.reward.name), n(x.reward.cost), !!x.affordable];
      }),
      activity: list(l.activity).filter(isObject).slice(0, 8).map(function (a) {
        return [String(a.reason), (a.points > 0 ? '+' : '') + n(a.points), day(a.at)];
      }),
      coupon: coupon
    };
  };
  var referralLink = function (code) {
    var u = new URL(shareUrl);
    u.searchParams.set(host.ref || 'ref', code);
    return u.href;
  };
  var referralData = function () {
    var offer = pick(r && r.offer || offerText);
    if (!r || typeof r.code != 'string') return { state: rState, signedIn: 0, offer: offer };
    var link = referralLink(r.code), message = words[1], s = isObject(r.stats) ? r.stats : {};
    var e = encodeURIComponent, both = e(message + ' ' + link);
    return {
      state: rState, signedIn: 1, offer: offer, link: link, canShare: !!nav.share,
      stats: [n(s.invited), n(s.joined), n(s.rewards_pending), n(s.rewards_earned)],
      shares: [
        ['WhatsApp', 'https://wa.me/?text=' + both],
        ['LINE', 'https://line.me/R/share?text=' + both],
        ['Telegram', 'https://t.me/share/url?url=' + e(link) + '&text=' + e(message)],
        ['X', 'https://x.com/intent/post?text=' + e(message) + '&url=' + e(link)],
        ['Facebook', 'https://www.facebook.com/sharer/sharer.php?u=' + e(link)],
        ['Email', 'mailto:?subject=' + e(words[2]) + '&body=' + both]
      ]
    };
  };
  var data = function () {
    return {
      open: state.open, status: state.status, signIn: signIn,
      loyalty: program ? loyaltyData() : null, referral: offerText ? referralData() : null
    };
  };

  // ---- Showing: the launcher in the corner, and the panel when opened. Each shadow root
  // has one live region of its own, created once, so what it says is announced.
  var sheetEl = null, sheetHandle = null, shown, launchEl = null, launchHandle = null, launchShown, gainTimer, opener, focusNext;
  var announcer = function (h) {
    var live = d.createElement('p');
    live.setAttribute('role', 'status');
    live.setAttribute('lang', lang);
    live.className = 'sr';
    h[0].shadowRoot.appendChild(live);
    return live;
  };
  var focusKey = function () {
    var active = sheetEl && sheetEl.shadowRoot.activeElement;
    return active && active.getAttribute('data-k');
  };
  // Renders the panel again when what it shows changed.
  var render = function () {
    if (!sheetEl) return;
    var now = data(), text = JSON.stringify(now);
    if (text == shown) return;
    shown = text;
    var key = focusNext || focusKey(), root = sheetEl.shadowRoot;
    focusNext = null;
    unmount(sheetHandle);
    sheetHandle = null; // not a stale number if rendering throws
    sheetHandle = panel(root.firstChild, lang, now, act);
    var again = key && root.querySelector('[data-k="' + CSS.escape(key) + '"]');
    if (again && !again.disabled) again.focus();
    else if (key) root.querySelector('.x').focus();
  };
  // Says `text` through a live region: emptied first and filled in a later task, so a
  // region just created, or the same words again, are still announced.
  var announce = function (live, text) {
    live.textContent = '';
    setTimeout(function () { live.textContent = text; }, 150);
  };
  var placeLauncher = function () {
    if (settings.launcher === false || !host.facts()) return;
    var balance = l ? n(l.balance) : '', plus = gainNow ? '+' + n(gainNow) : '', shape = [balance, plus, !!sheetEl].join(' ');
    if (launchEl && launchShown == shape) return;
    launchShown = shape;
    if (!launchEl) {
      var h = c.shadowHost(d.body);
      launchEl = h[0];
      launchEl.live = announcer(h);
      launchEl.close = function () {
        unmount(launchHandle);
        launchHandle = null;
        c.unplace(launchEl);
        launchEl = null;
      };
    }
    var had = !!launchEl.shadowRoot.activeElement;
    unmount(launchHandle);
    launchHandle = null;
    launchHandle = launcher(launchEl.shadowRoot.firstChild, lang, balance, plus, !!sheetEl, guard(function () {
      if (sheetEl) close();
      else open(state.open, launchEl);
    }));
    if (had) launchEl.shadowRoot.querySelector('button').focus(); // focus stays on the launcher
  };
  // The balance grew: "+N points" on the launcher for a few seconds, announced.
  var celebrate = function (gain) {
    gainNow = gain;
    placeLauncher();
    if (launchEl) announce(launchEl.live, words[5].replace('{n}', '+' + n(gain)));
    clearTimeout(gainTimer);
    gainTimer = setTimeout(guard(function () {
      gainNow = 0;
      placeLauncher();
    }), 4000);
  };
  var close = function () {
    if (!sheetEl) return;
    var inside = sheetEl.shadowRoot.activeElement;
    unmount(sheetHandle);
    sheetHandle = null;
    c.unplace(sheetEl);
    sheetEl = shown = null;
    placeLauncher(); // aria-expanded
    // Focus goes back to what opened the panel; the launcher is rendered anew as the balance
    // changes, so for it, to its current button.
    var back = opener == launchEl && launchEl ? launchEl.shadowRoot.querySelector('button') : opener;
    if (inside && back && back.isConnected) back.focus();
  };
  var open = function (which, from) {
    if (!host.facts()) return false; // tracking stopped
    state.open = which;
    state.status = '';
    opener = from || d.activeElement;
    if (!sheetEl) {
      var h = c.shadowHost(d.body);
      sheetEl = h[0];
      sheetEl.live = announcer(h);
      sheetEl.close = close;
    }
    refresh(); // shows "Loading…" until what is missing has arrived
    render();
    placeLauncher();
    var first = sheetEl.shadowRoot.querySelector('[role=tab][aria-selected=true]') || sheetEl.shadowRoot.querySelector('.x');
    if (first) first.focus();
    host.track('panel_opened', { panel: which ? 'referral' : 'loyalty' });
    return true;
  };

  // ---- Reading: on start, on opening, after events that may earn points, when the page
  // comes back, and when the shopper signs in or out. The referral is read only for the open
  // panel; the launcher needs just the balance.
  var refresh = function () {
    if (!host.facts()) return; // tracking stopped or destroyed: no more reads
    var u = user(), id = u ? u.id : '';
    if (id != who) {
      // Another shopper, or none: nothing of the last one stays, on screen or stored.
      l = r = coupon = null;
      lState = rState = 0;
      state.status = '';
      keys = {};
      lApplied = lSeq;
      rApplied = rSeq;
      if (c.tier) c.tier(null);
      if (!id) c.save('points', {});
    }
    who = id;
    signed = identity(u);
    var wantsLoyalty = !!(u && program && urls.l), wantsReferral = !!(u && sheetEl && offerText && urls.r);
    if (!wantsLoyalty && !wantsReferral) {
      placeLauncher();
      return render();
    }
    if (wantsLoyalty && !l) lState = 1;
    if (wantsReferral && !r) rState = 1;
    render();
    var reads = [];
    if (wantsLoyalty) {
      var ln = ++lSeq;
      reads.push(read(urls.l, u).then(guard(function (body) {
        if (who != id || ln <= lApplied) return; // another shopper, or a newer answer is in
        lApplied = ln;
        var before = c.load('points');
        l = body;
        lState = 0;
        if (c.tier) c.tier(l && isObject(l.tier) ? l.tier.id : null);
        if (l) c.save('points', { c: id, b: l.balance });
        if (l && before.c == id && l.balance > before.b) celebrate(l.balance - before.b);
        else placeLauncher();
      }), guard(function () {
        if (who == id && ln == lSeq && !l) lState = 2; // the latest read failed, with nothing to show
      })));
    }
    if (wantsReferral) {
      var rn = ++rSeq;
      reads.push(read(urls.r, u).then(guard(function (body) {
        if (who != id || rn <= rApplied) return;
        rApplied = rn;
        r = body;
        rState = 0;
      }), guard(function () {
        if (who == id && rn == rSeq && !r) rState = 2;
      })));
    }
    Promise.all(reads).then(guard(render));
  };
  var act = guard(function (name, arg) {
    if (name == 'close') close();
    else if (name == 'tab') state.open = +arg;
    else if (name == 'retry') refresh();
    else if (name == 'copy') copy(arg);
    else if (name == 'share') {
      nav.share({ title: words[2], text: words[1], url: referralLink(r.code) }).then(guard(function () {
        host.track('referral_shared', { channel: 'web_share' });
      }), function () { /* cancelled */ });
    } else if (name == 'open') host.track('referral_shared', { channel: String(arg).toLowerCase() });
    else if (name == 'redeem') redeem(arg);
  });
  // What the panel says: shown in it, and announced.
  var say = function (text) {
    state.status = text;
    if (sheetEl) announce(sheetEl.live, text);
    render();
  };
  var copy = function (text) {
    var done = function () {
      say(words[0]);
      if (r && text == referralLink(r.code)) host.track('referral_shared', { channel: 'copy' });
    };
    // Without the Clipboard API (or refused), a selected off-screen field and execCommand.
    var fallback = guard(function () {
      var field = d.createElement('textarea');
      field.value = text;
      field.setAttribute('readonly', '');
      field.className = 'sr';
      sheetEl.shadowRoot.appendChild(field);
      field.select();
      var ok = false;
      try { ok = d.execCommand('copy'); } catch (e) { /* not allowed */ }
      field.remove();
      if (ok) done();
      else say(words[7]);
    });
    if (nav.clipboard) nav.clipboard.writeText(text).then(guard(done), fallback);
    else fallback();
  };
  // One key per reward until the backend has decided (an answer other than 5xx), so a
  // retried or doubled click spends once.
  var redeem = function (id) {
    var u = user(), reward = l && list(l.rewards).filter(function (x) { return isObject(x) && isObject(x.reward) && String(x.reward.id) == id; })[0];
    if (!u || u.id != who || !reward || !urls.redeem) return;
    var key = keys[id] = keys[id] || (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now());
    var mine = who;
    var failed = guard(function () {
      if (who != mine) return;
      say(words[6]);
      refresh();
    });
    fetch(urls.redeem, {
      method: 'POST',
      headers: headers(u, { 'content-type': 'application/json', 'idempotency-key': key }),
      body: JSON.stringify({ reward: id })
    }).then(function (res) {
      if (who != mine) return; // signed out or in as someone else meanwhile
      if (res.status < 500) delete keys[id];
      return res.json().then(guard(function (body) {
        if (who != mine) return;
        if (!res.ok || !isObject(body) || typeof body.coupon != 'string') return failed();
        coupon = [pick(reward.reward.name), body.coupon];
        host.track('reward_redeemed', { reward: id });
        c.save('points', { c: mine, b: body.balance });
        focusNext = 'code';
        say(body.coupon);
        refresh();
      }), failed);
    }).catch(failed);
  };

  // Elements of the page open a panel: data-rapport-panel="loyalty" or "referral".
  var onClick = guard(function (e) {
    var el = e.target && e.target.closest && e.target.closest('[data-rapport-panel]');
    if (el && open(el.getAttribute('data-rapport-panel') == 'referral' && offerText ? 1 : 0, el)) e.preventDefault();
  });
  var onVisible = guard(function () {
    if (d.visibilityState == 'visible' && who) refresh();
  });
  d.addEventListener('click', onClick);
  d.addEventListener('visibilitychange', onVisible);
  // Signing in or out (here or in another tab) shows in the launcher and the panel; once
  // tracking stops, so does all of this.
  var stop = function () {
    clearInterval(watch);
    clearTimeout(gainTimer);
    d.removeEventListener('click', onClick);
    d.removeEventListener('visibilitychange', onVisible);
  };
  var watch = setInterval(guard(function () {
    if (!host.facts()) return stop();
    if (identity(user()) != signed) refresh();
  }), 1000);
  c.listen(function (name) {
    // Answers and orders may earn points once the backend has them: look again shortly.
    if (who && /^(feedback_submitted|purchase)$/.test(name)) {
      [1500, 4000, 10000].forEach(function (ms) { setTimeout(guard(refresh), ms); });
    }
  });
  placeLauncher(); // before any reading, so its live region exists when points arrive
  refresh();
  return {
    stop: stop,
    open: guard(open),
    // The invitation in a card's language, with the offer in that language.
    nudge: function (language) {
      return offerText && settings.nudge_promoters !== false ? panel_words(language)[3] + ' ' + pickIn(language, offerText) : '';
    }
  };
}
