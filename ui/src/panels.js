// Rapport's UI stage: the loyalty and referral panels, the JavaScript half. `cargo xtask
// dist` appends this file after prompts.js, whose `start` calls `panels`. It reads the
// shopper's balance and referral code from the loyalty backend (the collector, or the
// endpoints in the config's `panels`), formats numbers and dates for the language, and has
// the wasm module (`panel`, `launcher`, `panel_words`) render them. The backend is the
// authority: nothing here changes a balance except asking it to redeem.
//
// Nothing here may throw into the host page.

/**
 * `c`: { host, config, lang, shadowHost(parent) -> [element, mount], mounted, listen(f),
 * log, load, save }.
 * Returns null when the config has neither program, else { open(0 points | 1 referral,
 * opener), nudge: the promoters' invitation or '' }.
 */
function panels(c) {
  var host = c.host, config = c.config, d = document, w = window, nav = navigator, lang = c.lang;
  var isObject = function (v) { return !!v && typeof v == 'object' && !(v instanceof Array); };
  var program = isObject(config.loyalty) ? config.loyalty : null, offerText = isObject(config.referral) && config.referral.offer;
  if (!program && !offerText) return null;
  var settings = isObject(config.panels) ? config.panels : {};
  var words = panel_words(lang); // [copied, share message, e-mail subject, nudge, failed]
  var pick = function (t) { return isObject(t) ? t[lang] || t.en || '' : ''; };
  // An endpoint from the config (absolute, or a path on this site), else the collector's.
  var address = function (key, path) {
    var given = settings[key];
    if (given == null) return path == null || !host.api ? '' : host.api + path;
    if (typeof given == 'string' && /^(https?:\/\/|\/(?!\/))\S+$/.test(given)) return new URL(given, location.href).href;
    c.log('config field "panels.' + key + '" must be an http(s) URL or a path starting with "/"; it is not used');
    return '';
  };
  var urls = { l: address('loyalty_url', 'loyalty'), r: address('referral_url', 'referral'), redeem: address('redeem_url', 'loyalty/redeem') };
  var signIn = address('sign_in_url'), shareUrl = address('share_url') || location.origin + '/';
  var number, unit;
  try {
    number = new Intl.NumberFormat(lang);
    unit = new Intl.NumberFormat(lang, { style: 'currency', currency: /^[A-Z]{3}$/.test(settings.currency) ? settings.currency : 'USD', maximumFractionDigits: 0 }).format(1);
  } catch (e) {
    number = { format: String };
    unit = '$1';
  }
  var n = function (v) { return number.format(v || 0); };
  var day = function (ms) {
    try { return new Date(ms).toLocaleDateString(lang, { day: 'numeric', month: 'short' }); } catch (e) { return ''; }
  };

  // ---- What the backend said, and the panel's own state.
  var state = { open: 0, state: 0, status: '' }, l = null, r = null, coupon = null, who = '';
  var user = function () {
    var u = c.load('user');
    return u.id && u.hash ? u : null;
  };
  var headers = function (u, extra) {
    var h = { 'x-rapport-user': u.id, 'x-rapport-user-hash': u.hash }, f = host.facts(), k;
    if (f && f[6]) h['x-rapport-visitor'] = f[6];
    for (k in extra) h[k] = extra[k];
    return h;
  };
  var read = function (url, u) {
    return fetch(url, { headers: headers(u) }).then(function (res) {
      if (res.status == 401) return null; // the identity is not (or no longer) valid
      if (!res.ok) throw res.status;
      return res.json();
    });
  };
  var earnFrom = function (ways) {
    ways = isObject(ways) ? ways : {};
    return [['feedback', ways.feedback_points], ['referral', ways.referral_points], ['order', ways.points_per_currency_unit]]
      .filter(function (e) { return e[1] > 0; })
      .map(function (e) { return [e[0], n(e[1])]; });
  };
  var data = function () {
    var o = { open: state.open, state: state.state, status: state.status, signIn: signIn, loyalty: null, referral: null };
    if (program) {
      var tiers = (program.tiers || []).map(function (t) { return [pick(t.name), n(t.threshold)]; });
      if (l) {
        var tier = l.tier || { threshold: 0 }, next = l.next_tier, span = next ? next.tier.threshold - tier.threshold : 0;
        o.loyalty = {
          signedIn: 1, balance: n(l.balance), tier: pick(tier.name), unit: unit, tiers: tiers,
          next: next ? [n(next.points_needed), pick(next.tier.name)] : null,
          progress: String(span > 0 ? Math.max(0, Math.min(100, Math.floor(100 * (span - next.points_needed) / span))) : 100),
          earn: earnFrom(l.ways_to_earn),
          rewards: (l.rewards || []).map(function (x) { return [x.reward.id, pick(x.reward.name), n(x.reward.cost), !!x.affordable]; }),
          activity: (l.activity || []).slice(0, 8).map(function (a) { return [a.reason, (a.points > 0 ? '+' : '') + n(a.points), day(a.at)]; }),
          coupon: coupon
        };
      } else o.loyalty = { signedIn: 0, unit: unit, tiers: tiers, earn: earnFrom(program) };
    }
    if (offerText) {
      o.referral = { signedIn: 0, offer: pick(r && r.offer || offerText) };
      if (r) {
        var link = referralLink(r.code), message = words[1], s = r.stats || {};
        var e = encodeURIComponent, both = e(message + ' ' + link);
        o.referral = {
          signedIn: 1, offer: o.referral.offer, link: link, canShare: !!nav.share,
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
      }
    }
    return o;
  };
  var referralLink = function (code) {
    var u = new URL(shareUrl);
    u.searchParams.set(host.ref || 'ref', code);
    return u.href;
  };

  // ---- Showing: the launcher in the corner, and the panel when opened.
  var sheetEl = null, sheetHandle, shown, launchEl = null, launchHandle, launchShown, gainTimer, opener;
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
    var key = focusKey(), root = sheetEl.shadowRoot;
    if (sheetHandle != null) unmount(sheetHandle);
    sheetHandle = panel(root.firstChild, lang, now, act);
    var again = key && root.querySelector('[data-k="' + key + '"]');
    if (again && !again.disabled) again.focus();
    else if (key) root.querySelector('.x').focus();
  };
  var placeLauncher = function (gain) {
    if (settings.launcher === false || !host.facts()) return;
    var balance = l ? n(l.balance) : '', plus = gain ? '+' + n(gain) : '';
    if (launchEl && launchShown == balance + ' ' + plus) return;
    launchShown = balance + ' ' + plus;
    if (!launchEl) {
      var h = c.shadowHost(d.body);
      launchEl = h[0];
      launchEl.close = function () { unmount(launchHandle); launchEl.remove(); c.mounted.splice(c.mounted.indexOf(launchEl), 1); launchEl = null; };
      c.mounted.push(launchEl);
    } else unmount(launchHandle);
    launchHandle = launcher(launchEl.shadowRoot.firstChild, lang, balance, plus, function () {
      if (sheetEl) close();
      else open(state.open, launchEl);
    });
  };
  var close = function () {
    if (!sheetEl) return;
    var inside = sheetEl.shadowRoot.activeElement;
    unmount(sheetHandle);
    sheetHandle = null;
    sheetEl.remove();
    c.mounted.splice(c.mounted.indexOf(sheetEl), 1);
    sheetEl = shown = null;
    // Focus goes back to what opened the panel; the launcher is rendered anew as the balance
    // changes, so for it, to its current button.
    var back = opener == launchEl && launchEl ? launchEl.shadowRoot.querySelector('button') : opener;
    if (inside && back && back.isConnected) back.focus();
  };
  var open = function (which, from) {
    if (!host.facts()) return; // tracking stopped
    state.open = which;
    state.status = '';
    opener = from || d.activeElement;
    if (!sheetEl) {
      var h = c.shadowHost(d.body);
      sheetEl = h[0];
      sheetEl.close = close;
      c.mounted.push(sheetEl);
    }
    refresh(); // shows "Loading…" until what is missing has arrived
    render();
    var first = sheetEl.shadowRoot.querySelector('[role=tab][aria-selected=true]') || sheetEl.shadowRoot.querySelector('.x');
    if (first) first.focus();
    host.track('panel_opened', { panel: which ? 'referral' : 'loyalty' });
  };

  // ---- Reading: on start, on opening, after events that may earn points, when the page
  // comes back, and when the shopper signs in or out.
  // The referral is read only for the open panel; the launcher needs just the balance.
  var refresh = function () {
    var u = user(), id = u ? u.id : '', wantsReferral = !!(sheetEl && offerText && urls.r);
    if (id != who) l = r = coupon = null; // another shopper, or none: nothing of the last one
    who = id;
    if (!u || !(urls.l || urls.r)) {
      state.state = 0;
      placeLauncher();
      return render();
    }
    if (sheetEl && (program && urls.l && !l || wantsReferral && !r)) {
      state.state = 1;
      render();
    }
    Promise.all([program && urls.l ? read(urls.l, u) : null, wantsReferral ? read(urls.r, u) : r]).then(function (got) {
      if (who != u.id) return; // signed out or in as someone else meanwhile
      var before = c.load('points'), gain = 0;
      l = got[0];
      r = got[1];
      state.state = 0;
      if (l) {
        if (before.c == u.id && l.balance > before.b) gain = l.balance - before.b;
        c.save('points', { c: u.id, b: l.balance });
      }
      placeLauncher(gain);
      if (gain) {
        clearTimeout(gainTimer);
        gainTimer = setTimeout(function () { placeLauncher(); }, 4000);
      }
      render();
    }).catch(function () {
      state.state = l || r ? 0 : 2;
      render();
    });
  };
  var act = function (name, arg) {
    try {
      if (name == 'close') close();
      else if (name == 'tab') state.open = +arg;
      else if (name == 'retry') refresh();
      else if (name == 'copy') copy(arg);
      else if (name == 'share') {
        nav.share({ title: words[2], text: words[1], url: referralLink(r.code) }).then(function () {
          host.track('referral_shared', { channel: 'web_share' });
        }, function () { /* cancelled */ });
      } else if (name == 'open') host.track('referral_shared', { channel: arg.toLowerCase() });
      else if (name == 'redeem') redeem(arg);
    } catch (e) { c.log('panel action failed: ' + e); }
  };
  var say = function (text) {
    state.status = text;
    render();
  };
  var copy = function (text) {
    var done = function () {
      say(words[0]);
      if (r && text == referralLink(r.code)) host.track('referral_shared', { channel: 'copy' });
    };
    var fallback = function () {
      var field = sheetEl && sheetEl.shadowRoot.querySelector('#link');
      if (field) {
        field.select();
        if (d.execCommand('copy')) done();
      }
    };
    if (nav.clipboard) nav.clipboard.writeText(text).then(done, fallback);
    else fallback();
  };
  // One key per reward until the backend answers, so a retried or doubled click spends once.
  var keys = {};
  var redeem = function (id) {
    var u = user(), reward = l && (l.rewards || []).filter(function (x) { return x.reward.id == id; })[0];
    if (!u || !reward || !urls.redeem) return;
    var key = keys[id] = keys[id] || (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now());
    fetch(urls.redeem, {
      method: 'POST',
      headers: headers(u, { 'content-type': 'application/json', 'idempotency-key': key }),
      body: JSON.stringify({ reward: id })
    }).then(function (res) {
      return res.json().then(function (body) {
        delete keys[id];
        if (!res.ok) throw res.status;
        coupon = [pick(reward.reward.name), body.coupon];
        host.track('reward_redeemed', { reward: id });
        c.save('points', { c: u.id, b: body.balance });
        say(body.coupon);
        refresh();
      });
    }).catch(function () { say(words[4]); refresh(); });
  };

  // Elements of the page open a panel: data-rapport-panel="loyalty" or "referral".
  d.addEventListener('click', function (e) {
    var el = e.target && e.target.closest && e.target.closest('[data-rapport-panel]');
    if (el) {
      e.preventDefault();
      open(el.getAttribute('data-rapport-panel') == 'referral' && offerText ? 1 : 0, el);
    }
  });
  // Signing in or out (here or in another tab) shows in the launcher and the panel.
  setInterval(function () {
    var u = user();
    if ((u ? u.id : '') != who) refresh();
  }, 1000);
  d.addEventListener('visibilitychange', function () {
    if (d.visibilityState == 'visible' && who) refresh();
  });
  c.listen(function (name) {
    // Answers and orders may earn points once the collector has them: look again shortly.
    if (who && /^(feedback_submitted|purchase)$/.test(name)) {
      [1500, 4000, 10000].forEach(function (ms) { setTimeout(refresh, ms); });
    }
  });
  refresh();
  return {
    open: open,
    nudge: offerText && settings.nudge_promoters !== false ? words[3] + ' ' + pick(offerText) : ''
  };
}
