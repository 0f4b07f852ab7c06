// The demo shop's own script: a cart in localStorage, product pages, signing in, and a
// checkout whose "Pay" asks the shop's server (the collector's /demo-api routes, standing in
// for it) to confirm the order with the signed webhook. It talks to Rapport only through
// window.rapport, which the loader defines at once.
(function () {
  var PRODUCTS = {
    'mug-01': { name: 'Stoneware mug', cents: 2400, text: 'Thrown on the wheel, glazed in celadon, and sized for a proper morning coffee (350 ml).' },
    'towel-02': { name: 'Linen tea towel', cents: 1600, text: 'Stonewashed Baltic linen that dries glasses without lint and softens with every wash.' },
    'coffee-03': { name: 'Morning blend, 250 g', cents: 1400, text: 'A round, chocolatey blend roasted in small batches every Tuesday.' }
  };
  var SITE = 'demo';
  var $ = function (id) { return document.getElementById(id); };
  var read = function (key, fallback) {
    try { return JSON.parse(localStorage.getItem('shop:' + key)) || fallback; } catch (e) { return fallback; }
  };
  var write = function (key, value) { localStorage.setItem('shop:' + key, JSON.stringify(value)); };
  var money = function (cents) { return '$' + (cents / 100).toFixed(2); };
  var post = function (path, body) {
    return fetch('/demo-api/' + SITE + '/' + path, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.error || r.status); return b; });
    });
  };

  // The shop remembers a referral code from the landing page, as a site's server would in a
  // cookie, and sends it with the order.
  var ref = new URLSearchParams(location.search).get('ref');
  if (ref) write('ref', ref);

  // A signed-in shopper: the shop's server computed the hash; the page hands it to Rapport.
  var account = read('account', null);
  if (account && window.rapport) window.rapport.identify(account.customer, { hash: account.hash, expires: account.expires });

  var cart = read('cart', []).filter(function (sku) { return PRODUCTS[sku]; });
  var count = function () {
    var el = $('cart-count');
    if (el) el.textContent = cart.length ? ' (' + cart.length + ')' : '';
  };
  count();
  var who = $('who');
  if (who) who.textContent = account ? account.email : 'Sign in';

  document.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('button.add[data-sku]');
    if (!button) return;
    var sku = button.dataset.sku, heading = button.closest('article, .card').querySelector('h1, h2');
    if (PRODUCTS[sku]) {
      cart.push(sku);
      write('cart', cart);
      count();
    }
    $('cart-status').textContent = (heading ? heading.textContent : PRODUCTS[sku].name) + ' added to your cart.';
    if (window.rapport) window.rapport.track('add_to_cart', { sku: sku });
  });

  // product.html?sku=…
  var product = $('product');
  if (product) {
    var sku = new URLSearchParams(location.search).get('sku');
    var p = PRODUCTS[sku] || PRODUCTS['mug-01'];
    sku = PRODUCTS[sku] ? sku : 'mug-01';
    document.title = p.name + ' | Juniper & Pine';
    product.querySelector('h1').textContent = p.name;
    // Both layouts of the page experiment carry the product; Rapport shows one.
    [].forEach.call(product.querySelectorAll('.price'), function (n) { n.textContent = money(p.cents); });
    [].forEach.call(product.querySelectorAll('.text'), function (n) { n.textContent = p.text; });
    [].forEach.call(product.querySelectorAll('button.add'), function (n) { n.dataset.sku = sku; });
  }

  // account.html: sign in by e-mail (the demo has no passwords), or out.
  var signIn = $('sign-in');
  if (signIn) {
    var state = function () {
      $('signed-in').hidden = !account;
      signIn.hidden = !!account;
      if (account) $('account-email').textContent = account.email;
      if (who) who.textContent = account ? account.email : 'Sign in';
    };
    state();
    signIn.addEventListener('submit', function (e) {
      e.preventDefault();
      var email = $('email').value;
      post('sign-in', { email: email }).then(function (b) {
        account = { email: email, customer: b.customer, hash: b.hash, expires: b.expires };
        write('account', account);
        window.rapport.identify(b.customer, { hash: b.hash, expires: b.expires });
        $('account-status').textContent = 'Signed in as ' + email + '.';
        state();
      }).catch(function (err) { $('account-status').textContent = 'Could not sign in: ' + err.message; });
    });
    $('sign-out').addEventListener('click', function () {
      account = null;
      localStorage.removeItem('shop:account');
      window.rapport.identify(null);
      $('account-status').textContent = 'Signed out.';
      state();
    });
  }

  // checkout.html: the cart, an e-mail, and Pay.
  var pay = $('pay');
  if (pay) {
    var total = cart.reduce(function (sum, sku) { return sum + (PRODUCTS[sku] ? PRODUCTS[sku].cents : 0); }, 0);
    var list = $('lines');
    cart.forEach(function (sku) {
      var li = document.createElement('li');
      li.textContent = PRODUCTS[sku].name + ' · ' + money(PRODUCTS[sku].cents);
      list.appendChild(li);
    });
    $('total').textContent = money(total);
    if (account) $('checkout-email').value = account.email;
    pay.disabled = !total;
    $('checkout').addEventListener('submit', function (e) {
      e.preventDefault();
      pay.disabled = true;
      // The visitor id lets the collector refuse a referral to oneself from the same browser.
      var visitor = window.rapport && window.rapport.visitor ? window.rapport.visitor() : '';
      post('checkout', { email: $('checkout-email').value, amount_cents: total, referral_code: read('ref', '') || null, visitor_id: visitor || null })
        .then(function (b) {
          if (window.rapport) window.rapport.track('purchase', { total: total / 100, order_id: b.order_id });
          cart = [];
          write('cart', cart);
          localStorage.removeItem('shop:ref');
          count();
          $('checkout-status').textContent = 'Thank you! Order ' + b.order_id + ' is confirmed' +
            (b.points ? ' and earns ' + b.points + ' points' + (account ? '' : ' once you sign in with this e-mail') : '') + '.' +
            (b.referral && b.referral.status == 'rejected' ? ' The referral earns nothing (' + b.referral.reason + ').' : '');
        })
        .catch(function (err) {
          pay.disabled = false;
          $('checkout-status').textContent = 'Payment failed: ' + err.message;
        });
    });
  }
})();
