// The demo shop's own script. It talks to Rapport only through window.rapport, which the
// loader defines at once, so these calls work even before the WebAssembly has loaded.
document.addEventListener('click', function (e) {
  var button = e.target.closest && e.target.closest('button.add[data-sku]');
  if (!button) return;
  var name = button.parentElement.querySelector('h2').textContent;
  document.getElementById('cart-status').textContent = name + ' added to your cart.';
  if (window.rapport) window.rapport.track('add_to_cart', { sku: button.dataset.sku });
});
