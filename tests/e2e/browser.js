// The browser the end-to-end tests drive: Debian's Chromium (never a downloaded one),
// presenting itself as a shopper's browser, since the collector drops headless ones as bots.
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];
// Chromium's local-network checks keep a page with an opaque origin, or on a public name,
// from loading anything from 127.0.0.1; tests of such pages turn them off.
const WITHOUT_LOCAL_NETWORK_CHECKS = '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights';

/** Launch options for a browser of a test's own, with `args` added. */
function ownBrowser(args = [], options = {}) {
  return { executablePath: '/usr/bin/chromium', args: ARGS.concat(args), ...options };
}

module.exports = { USER_AGENT, WITHOUT_LOCAL_NETWORK_CHECKS, ownBrowser };
