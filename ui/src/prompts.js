// Rapport's UI stage, the JavaScript half: reads and checks the site's prompts, watches the
// page for their triggers, keeps the one frequency budget under `rapport:`, and emits the
// prompt events through the tracker's durable queue. `cargo xtask dist` appends this file to
// wasm-bindgen's glue for ui/src/lib.rs, so `card`, `tab`, `unmount`, `locale`, `holds`,
// `sampled`, `variant`, `allows` and `delay_left` below are that module's exports, and
// STYLE becomes ui/src/style.css. The driver (src/driver.js) calls `start`.
//
// Nothing here may throw into the host page.

/**
 * `host`: { track(name, props), facts() -> [engaged ms, scroll %, session pageviews,
 * session start, returning, referred, visitor id, session id], listen(f), locale, api (the
 * collector's `/v1/sites/<site>/`, or empty for other backends) }.
 * `config`: the site config ({ prompts, theme }), as served or given inline.
 * Returns a function that stops the stage: its timer and listeners, and every surface.
 */
export function start(host, config) {
  var w = window, d = document, nav = navigator;
  var NAME = /^[a-z0-9_.-]{1,64}$/;
  var KINDS = ['nps', 'csat', 'thumbs', 'text', 'choice'];
  var DISPLAYS = ['modal', 'popover', 'tab', 'inline'];
  var THANKS_MS = 3000;
  var log = function (message) {
    try { console.error('rapport: ' + message); } catch (e) { /* no console */ }
  };
  // Storage under the prefix; blocked or corrupt storage reads as empty.
  var load = function (key) {
    try {
      var v = JSON.parse(localStorage.getItem('rapport:' + key));
      return v && typeof v == 'object' ? v : {};
    } catch (e) { return {}; }
  };
  var save = function (key, value) {
    try { localStorage.setItem('rapport:' + key, JSON.stringify(value)); } catch (e) { /* blocked */ }
  };

  // ---- The config: each prompt is checked field by field; one that breaks a rule is
  // skipped with one error naming the field, e.g. prompts[1].trigger.scroll_percent.
  var isObject = function (v) { return !!v && typeof v == 'object' && !(v instanceof Array); };
  var text = function (v, at) {
    if (!isObject(v)) throw [at, 'must be an object of texts by language, like {"en": "…"}'];
    for (var tag in v) {
      if (typeof v[tag] != 'string' || !v[tag].trim() || Array.from(v[tag]).length > 500) throw [at + '.' + tag, 'must be a text of 1-500 characters'];
    }
    if (!v.en) throw [at, 'needs an "en" text, the fallback language'];
    return v;
  };
  // -1 when unset.
  var whole = function (o, key, at, min, max) {
    var v = o[key];
    if (v == null) return -1;
    if (typeof v != 'number' || v < min || v > max || v % 1) throw [at + '.' + key, 'must be a whole number from ' + min + ' to ' + max];
    return v;
  };
  var flag = function (o, key, at) {
    var v = o[key];
    if (v != null && typeof v != 'boolean') throw [at + '.' + key, 'must be true or false'];
    return v == null ? -1 : +v;
  };
  var globs = function (o, key, at) {
    var v = o[key] == null ? [] : o[key];
    if (!(v instanceof Array) || v.some(function (g) { return typeof g != 'string' || g[0] != '/' || /\n/.test(g); })) {
      throw [at + '.' + key, 'must be a list of path globs starting with "/"'];
    }
    return v.join('\n');
  };
  // Loyalty tiers by position, for loyalty_tier conditions.
  var tiers = (isObject(config.loyalty) && config.loyalty.tiers instanceof Array ? config.loyalty.tiers : [])
    .map(function (t) { return t && t.id; });
  var check = function (p, at) {
    if (!isObject(p)) throw [at, 'must be an object'];
    if (typeof p.id != 'string' || !NAME.test(p.id)) throw [at + '.id', "must be 1-64 characters of a-z, 0-9, '_', '.' and '-'"];
    var kind = KINDS.indexOf(p.type), display = DISPLAYS.indexOf(p.display == null ? 'popover' : p.display);
    if (kind < 0) throw [at + '.type', 'must be nps, csat, thumbs, text or choice'];
    if (display < 0) throw [at + '.display', 'must be modal, popover, tab or inline'];
    if (display == 3 && (typeof p.selector != 'string' || !p.selector.trim())) throw [at + '.selector', 'is required for inline display'];
    text(p.question, at + '.question');
    if (p.follow_up != null) {
      if (kind) throw [at + '.follow_up', 'only applies to nps prompts'];
      ['detractor', 'passive', 'promoter'].forEach(function (band) {
        if (p.follow_up[band] != null) text(p.follow_up[band], at + '.follow_up.' + band);
      });
    }
    var choices = p.choices == null ? [] : p.choices;
    if (!(choices instanceof Array) || (kind == 4 ? choices.length < 2 || choices.length > 10 : choices.length)) {
      throw [at + '.choices', kind == 4 ? 'must hold 2-10 choices' : 'only applies to choice prompts'];
    }
    choices.forEach(function (c, i) { text(c, at + '.choices[' + i + ']'); });
    if (p.variants != null && !(p.variants instanceof Array)) throw [at + '.variants', 'must be a list'];
    (p.variants || []).forEach(function (v, i, all) {
      var vat = at + '.variants[' + i + ']';
      if (!isObject(v) || typeof v.id != 'string' || !NAME.test(v.id)) throw [vat + '.id', 'must be a name of a-z, 0-9, _ . -'];
      if (all.slice(0, i).some(function (u) { return u.id == v.id; })) throw [vat + '.id', 'is used twice'];
      text(v.question, vat + '.question');
    });
    var t = p.trigger, tat = at + '.trigger';
    if (!isObject(t)) throw [tat, 'must be an object'];
    var visitor = t.visitor == null ? -1 : ['new', 'returning'].indexOf(t.visitor);
    if (visitor < 0 && t.visitor != null) throw [tat + '.visitor', 'must be "new" or "returning"'];
    if (t.match != null && t.match != 'all' && t.match != 'any') throw [tat + '.match', 'must be "all" or "any"'];
    if (t.event != null && (typeof t.event != 'string' || !NAME.test(t.event))) throw [tat + '.event', 'must be an event name'];
    var conditions = [whole(t, 'engaged_seconds', tat, 0, 86400), whole(t, 'scroll_percent', tat, 1, 100),
      Math.max(flag(t, 'exit_intent', tat), 0) || -1, whole(t, 'pageviews_at_least', tat, 0, 10000), visitor,
      flag(t, 'referred', tat)];
    var include = globs(t, 'url_include', tat), exclude = globs(t, 'url_exclude', tat);
    var tier = t.loyalty_tier == null ? -1 : tiers.indexOf(t.loyalty_tier);
    if (t.loyalty_tier != null && tier < 0) throw [tat + '.loyalty_tier', 'must be the id of a tier in loyalty.tiers'];
    if (!include && t.event == null && tier < 0 && conditions.every(function (c) { return c < 0; })) throw [tat, 'must set at least one condition'];
    var sample = whole(p, 'sample_percent', at, 1, 100);
    flag(p, 'ask_again', at);
    return {
      p: p, at: at, kind: kind, display: display, event: t.event || '', include: include, exclude: exclude,
      t: conditions.concat(t.match == 'any' ? 1 : 0, tier), delay: Math.max(whole(t, 'delay_seconds', tat, 0, 3600), 0),
      sample: sample < 0 ? 100 : sample, since: 0
    };
  };
  var prompts = [];
  (config.prompts instanceof Array ? config.prompts : []).forEach(function (p, i) {
    try {
      var x = check(p, 'prompts[' + i + ']');
      if (prompts.some(function (y) { return y.p.id == p.id; })) throw ['prompts[' + i + '].id', 'is used twice'];
      prompts.push(x);
    } catch (e) {
      if (e instanceof Array) log('config field "' + e[0] + '" ' + e[1] + '; that prompt is not shown');
      else throw e;
    }
  });
  if (!prompts.length && !config.loyalty && !config.referral) return;

  // ---- The theme, through custom properties on the card: text on the brand colour is
  // white or near-black, whichever contrasts more; the focus ring takes the brand colour
  // only where it stands out from white. A bad field keeps its default.
  var theme = isObject(config.theme) ? config.theme : {}, css = STYLE + '.w{';
  var luminance = function (hex) {
    return [1, 3, 5].reduce(function (sum, at, i) {
      var c = parseInt(hex.substr(at, 2), 16) / 255;
      return sum + [0.2126, 0.7152, 0.0722][i] * (c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
    }, 0);
  };
  var brand = theme.brand_color;
  if (brand != null) {
    if (/^#[0-9a-f]{6}$/i.test(brand)) {
      var l = luminance(brand), dark = luminance('#111111');
      css += '--b:' + brand + ';--o:' + (1.05 / (l + 0.05) >= (l + 0.05) / (dark + 0.05) ? '#fff' : '#111') + ';' +
        // Where the brand colour hardly stands out from white, a dark edge and focus ring do.
        (1.05 / (l + 0.05) >= 3 ? '--k:' + brand + ';' : '--e:#111;--k:#111;');
    } else log('config field "theme.brand_color" must be a colour like "#2f4a3a"; the default is used');
  }
  if (theme.radius_px != null) {
    if (typeof theme.radius_px == 'number' && theme.radius_px >= 0 && theme.radius_px <= 32 && theme.radius_px % 1 == 0) css += '--r:' + theme.radius_px + 'px;';
    else log('config field "theme.radius_px" must be 0-32; the default is used');
  }
  if (theme.font_family != null) {
    // It goes into a stylesheet: font names, commas and quotes only.
    if (typeof theme.font_family == 'string' && /^[\p{L}\p{N} ,_'"-]{1,200}$/u.test(theme.font_family)) css += '--f:' + theme.font_family + ';';
    else log('config field "theme.font_family" may only hold font names, commas and quotes; the default is used');
  }
  var sheet;
  try {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css + '}');
  } catch (e) {
    return; // no constructable stylesheets: no prompts rather than unstyled ones
  }

  // ---- Language: data-locale, else the browser's languages, the first with built-in
  // strings (English, Arabic, Hebrew, Thai), else English.
  var wanted = [host.locale || ''].concat(nav.languages || [nav.language]).filter(Boolean);
  var lang = locale(wanted.join('\n'));
  // A card's language: the first wanted one with built-in strings that its question has
  // (`iw` counts as `he`), else English; all its texts, its chrome and its events' locale
  // are in that one language. `tag` is the key the site used (`ar-EG` or `ar`).
  var languageOf = function (question) {
    for (var i = 0; i < wanted.length; i++) {
      var tag = wanted[i], builtIn = locale(tag), keys = [tag, tag.split(/[-_]/)[0], builtIn];
      if (builtIn != 'en' || /^en/i.test(tag)) {
        for (var k = 0; k < keys.length; k++) if (question[keys[k]]) return [builtIn, keys[k]];
      }
    }
    return ['en', 'en'];
  };
  var picker = function (language) {
    return function (t) { return t[language[1]] || t[language[0]] || t.en; };
  };

  // ---- Showing: each card, tab and panel in its own shadow root, styled by the one sheet.
  // `mounted` lists them, each with a close() that tracking stopping calls.
  var mounted = [];
  var shadowHost = function (parent) {
    var el = d.createElement('rapport-ui'), root = el.attachShadow({ mode: 'open' }), mount = d.createElement('div');
    root.adoptedStyleSheets = [sheet];
    root.appendChild(mount);
    parent.appendChild(el);
    mounted.push(el);
    return [el, mount];
  };
  var unplace = function (el) {
    el.remove();
    var at = mounted.indexOf(el);
    if (at >= 0) mounted.splice(at, 1);
  };
  var show = function (x, visitor, opener) {
    var p = x.p, parent;
    try {
      parent = x.display == 3 ? d.querySelector(p.selector) : d.body;
    } catch (e) {
      x.placed = 1;
      return log('config field "' + x.at + '.selector" is not a valid CSS selector; that prompt is not shown');
    }
    if (!parent) return; // the inline host element is not on this page (yet)
    var variants = p.variants || [], v = variants.length ? variants[variant(visitor, p.id, variants.length)] : null;
    var question = v ? v.question : p.question, language = languageOf(question), pick = picker(language);
    var props = function (extra) {
      var o = { prompt_id: p.id, variant: v ? v.id : 'default', type: p.type, display: DISPLAYS[x.display], locale: language[0] }, k;
      for (k in extra) if (extra[k] != null && extra[k] !== '') o[k] = extra[k];
      return o;
    };
    var before = opener || d.activeElement, host_ = shadowHost(parent), handle, closed = 0;
    x.el = host_[0];
    host_[0].close = function () { closed = 1; unmount(handle); unplace(host_[0]); x.open = 0; };
    x.open = x.shown = 1;
    if (x.display == 3) x.placed = 1;
    if (x.display < 2) save('budget', { t: Date.now() });
    var close = function () {
      if (closed) return;
      closed = 1;
      setTimeout(function () {
        try {
          var inside = host_[0].shadowRoot.activeElement;
          unmount(handle);
          unplace(host_[0]);
          x.open = 0;
          if (x.display == 2 && x.answered && x.tab) removeTab(x);
          // Focus goes back where it was (the tab's button, or what had it before the card)
          // when the card had it: a modal or tab always, a popover or inline card if the
          // shopper was in it.
          if ((inside || x.display == 0 || x.display == 2) && before && before.isConnected) before.focus();
        } catch (e) { log('closing a prompt failed: ' + e); }
      });
    };
    var follow = p.follow_up || {}, nudge = x.kind == 0 && programs ? programs.nudge(language[0]) : '';
    handle = card(host_[1], x.kind, x.display ? x.display == 3 ? 2 : 1 : 0, language[0], pick(question),
      ['detractor', 'passive', 'promoter'].map(function (b) { return follow[b] ? pick(follow[b]) : ''; }),
      (p.choices || []).map(pick),
      nudge,
      function (outcome, score, answer, choice) {
        if (!host.facts()) return close(); // tracking stopped: nothing is stored or sent
        if (outcome == 3) { // a promoter took the invitation to refer a friend
          var back = before;
          before = null; // the panel takes focus, and gives it back to what had it before the card
          close();
          return programs.open(1, back);
        }
        if (outcome == 1) {
          var answered = load('answered');
          answered[p.id] = Date.now();
          save('answered', answered);
          x.answered = 1;
          host.track('feedback_submitted', props({
            score: score, text: answer, choice: choice, choice_text: choice == null ? null : p.choices[choice].en
          }));
          // The thank-you closes itself, unless it invites a promoter to refer a friend:
          // that stays until the shopper takes it or closes the card.
          if (!(nudge && score >= 9)) setTimeout(close, THANKS_MS);
        } else {
          if (!outcome) host.track('prompt_dismissed', props());
          close();
        }
      });
    host.track('prompt_shown', props());
    // A modal, and a prompt the shopper opened, take focus: the scale's tab stop, the text
    // box or the first button.
    if (x.display == 0 || x.display == 2) {
      var first = [].filter.call(host_[0].shadowRoot.querySelectorAll('[role=radio][tabindex="0"],textarea,.thumbs .go'),
        function (e) { return e.offsetParent; })[0];
      if (first) first.focus();
    }
  };
  // The loyalty and referral panels (panels.js). They read the identified shopper's tier
  // from the backend, the authority for points, for loyalty_tier conditions.
  var listeners = [], programs = null, tierNow;
  try {
    programs = panels({
      host: host, config: config, lang: lang, shadowHost: shadowHost, unplace: unplace, log: log, load: load, save: save,
      listen: function (f) { listeners.push(f); },
      tier: function (id) {
        tierNow = id == null ? -1 : tiers.indexOf(id);
        setTimeout(function () { evaluate(); }); // defined below
      }
    });
  } catch (e) { log('the rewards panels stopped: ' + e); }
  var removeTab = function (x) {
    unmount(x.tab[1]);
    unplace(x.tab[0]);
    x.tab = 0;
  };
  var placeTab = function (x, visitor) {
    var host_ = shadowHost(d.body);
    host_[0].close = function () { removeTab(x); };
    x.placed = 1;
    x.tab = [host_[0], tab(host_[1], lang, function () {
      if (!x.open) show(x, visitor, host_[0].shadowRoot.querySelector('button'));
    })];
  };

  // ---- The triggers, looked at every second (engaged time grows without events), on
  // every event the tracker emits, and on exit intent.
  var exit = 0;
  if (tierNow == null) tierNow = -1; // unknown until the panels have read it
  var evaluate = function () {
    try {
      var f = host.facts(), now = Date.now(), seen = load('seen'), budget = load('budget'), answered = load('answered');
      if (!f) { // tracking stopped (opt-out, consent withdrawn): so do prompts
        clearInterval(timer);
        return mounted.slice().forEach(function (el) { el.close(); });
      }
      var events = seen.s == f[7] && seen.e instanceof Array ? seen.e.join('\n') : '';
      var facts = [f[0], f[1], exit, f[2], f[4], f[5], tierNow];
      // A card other than an inline one is up in the corner or the middle.
      var busy = prompts.some(function (x) { return x.open && x.display < 3; });
      if (!f[6]) return;
      prompts.forEach(function (x) {
        var ok = sampled(f[6], x.p.id, x.sample) && holds(x.t, x.event, x.include, x.exclude, facts, events, location.pathname);
        // An inline card whose host element the page removed is gone.
        if (x.open && x.display == 3 && !x.el.isConnected) x.open = 0;
        if (x.recheck) { // after a client-side navigation
          x.recheck = 0;
          if (x.tab && !x.open && !ok) removeTab(x);
          if (!x.open && (!x.tab || !ok)) x.placed = x.shown = 0;
        }
        if (x.open || x.placed || x.shown || !ok) {
          x.since = 0;
          return;
        }
        x.since = x.since || now;
        if (delay_left(x.delay, x.since, now) > 0) return;
        var at = answered[x.p.id], done = at > 0;
        if (x.display < 2) {
          // Unsolicited: one at a time, within the budget.
          if (!busy && allows(now, f[3], budget.t > 0 ? budget.t : -1, done, !!x.p.ask_again)) {
            busy = 1;
            show(x, f[6]);
          }
        } else if (!done || x.p.ask_again && allows(now, at + 1, at, true, true)) {
          // A tab or inline prompt spends no budget; answered, it comes back only with
          // ask_again, after the recontact period.
          if (x.display == 2) placeTab(x, f[6]);
          else show(x, f[6]);
        }
      });
    } catch (e) {
      log('prompts stopped: ' + e);
      clearInterval(timer);
    }
  };
  listeners.push(function (name) {
    if (!host.facts()) return; // tracking stopped
    if (name == 'page_view') {
      // A client-side navigation: a new page for the triggers. Tabs and inline prompts are
      // placed again only where their trigger holds on the new path.
      exit = 0;
      prompts.forEach(function (x) {
        x.since = 0;
        x.recheck = x.display > 1;
      });
    } else if (!/^(page_engagement|scroll_milestone|prompt_shown|prompt_dismissed)$/.test(name)) {
      // Events of the session, for event triggers on later pages too.
      var f = host.facts() || [], seen = load('seen');
      if (seen.s != f[7] || !(seen.e instanceof Array)) seen = { s: f[7], e: [] };
      if (seen.e.indexOf(name) < 0 && seen.e.length < 50) seen.e.push(name);
      save('seen', seen);
    }
    setTimeout(evaluate);
  });
  // Every listener is in place: now the tracker's events, the missed ones first, reach them.
  host.listen(function (name) {
    listeners.forEach(function (f) {
      try { f(name); } catch (e) { log('an event listener failed: ' + e); }
    });
  });
  // Exit intent (desktop): the pointer leaves the document through the top edge.
  var onExit = function (e) {
    if (!e.relatedTarget && e.clientY <= 0) {
      exit = 1;
      evaluate();
    }
  };
  d.addEventListener('mouseout', onExit);
  var timer = setInterval(evaluate, 1000);
  evaluate();
  return function () {
    clearInterval(timer);
    d.removeEventListener('mouseout', onExit);
    if (programs) programs.stop();
    mounted.slice().forEach(function (el) { el.close(); });
  };
}
