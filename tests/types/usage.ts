// Type-checked against dist/embed/rapport.d.ts by `cargo xtask test` (tsc --noEmit): every
// call the README shows, typed as a site's own TypeScript would write it.
rapport.track('add_to_cart', { sku: 'mug-01', price: 24, gift: false, note: null });
rapport.track('signup');
rapport.page();
rapport.identify('cust-42', { hash: 'f00d' });
rapport.identify('cust-42', { hash: 'f00d', expires: 1767225600 });
rapport.identify(null);
rapport.consent(true);
rapport.consent(false);
rapport.optOut();
const visitor: string = rapport.visitor();
rapport.configure({ transport: { headers: { 'x-api-key': 'k' }, beforeSend: (batch) => batch } });
rapport.configure({ transport: { beforeSend: () => null } });
rapport.configure({ transport: { headers: null } });
window.rapport
  .experiment('checkout', ['control', 'one-page'] as const, { weights: [1, 1] })
  .then((variant: 'control' | 'one-page') => variant.toUpperCase());
rapport.destroy();
export { visitor };
