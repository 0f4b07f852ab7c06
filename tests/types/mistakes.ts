// Each line is a mistake `tsc --noEmit` must report against rapport.d.ts; `cargo xtask test`
// checks that every one of them is reported, so the declarations stay strict.
rapport.track('nested', { cart: { items: 2 } });
rapport.track(42);
rapport.identify('cust-42');
rapport.consent('yes');
rapport.configure({ headers: { 'x-api-key': 'k' } });
rapport.experiment('checkout', ['control'], { weights: 'even' });
const n: number = rapport.visitor();
rapport.pageview();
export { n };
