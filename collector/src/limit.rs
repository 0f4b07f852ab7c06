//! Rate limiting of ingest per site and client address (governor's keyed GCRA limiter),
//! answered with 429 and `Retry-After`. Client addresses live only in the limiter's memory,
//! are never stored, and are forgotten once idle.
//!
//! Behind a load balancer the peer is the balancer; with `--trusted-proxies`, a request whose
//! peer is in a trusted range is attributed to the nearest untrusted address in its
//! `X-Forwarded-For`. Nothing else ever reads that header, so a client cannot choose its
//! own bucket. Each collector process keeps its own buckets.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

type Key = (String, Option<IpAddr>);

/// A bucket of `burst` requests per site and client, refilled by one every `refill`. A
/// client is an IPv4 address or an IPv6 /64 ([`bucket_of`]).
#[derive(Clone, Debug)]
pub struct RateLimit {
    limiter: Arc<RateLimiter<Key, DefaultKeyedStateStore<Key>, DefaultClock>>,
}

/// The peer address of the request's connection, when there is one (tests that drive the
/// router directly have none and share one bucket per site).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<Vec<ipnet::IpNet>>);

impl TrustedProxies {
    /// Parses `CIDR,CIDR,…` (a bare address is one host); the error names the bad entry.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("\"{entry}\" is not an address or CIDR range"))?;
            nets.push(net);
        }
        Ok(TrustedProxies(Arc::new(nets)))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: while the hop is trusted, the next address to the left in
    /// `X-Forwarded-For` (every header line, in order); the first untrusted one is the
    /// client. An unreadable entry ends the walk at the last trusted hop.
    pub fn client(&self, peer: Option<IpAddr>, forwarded: &[&str]) -> Option<IpAddr> {
        let mut client = peer?;
        if !self.trusts(client) {
            return Some(client);
        }
        let hops: Vec<&str> = forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                None => break,
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: an address, or an address with a port as some balancers
/// write it (`203.0.113.7:52311`, `[2001:db8::7]:443`), or a bracketed IPv6 address.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .or_else(|| {
            hop.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(IpAddr::V6)
        })
}

/// The bucket an address belongs to: an IPv4 address is one client; an IPv6 client owns a
/// whole /64 (one address per device or per connection is common), so its bucket is the
/// /64. IPv4-mapped IPv6 addresses are their IPv4 address.
pub fn bucket_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(v6) & !u128::from(u64::MAX),
        )),
    }
}

/// Middleware recording [`ClientAddr`] for the handlers.
pub async fn client_addr(
    axum::extract::State(trusted): axum::extract::State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let addr = trusted.client(peer, &forwarded);
    request.extensions_mut().insert(ClientAddr(addr));
    next.run(request).await
}

impl RateLimit {
    /// `None` when `burst` or `refill` is zero.
    pub fn new(burst: u32, refill: Duration) -> Option<RateLimit> {
        let quota = Quota::with_period(refill)?.allow_burst(NonZeroU32::new(burst)?);
        Some(RateLimit {
            limiter: Arc::new(RateLimiter::keyed(quota)),
        })
    }

    /// `Err(seconds)` to wait when `client` has used up its bucket for `site`.
    pub fn check(&self, site: &str, client: ClientAddr) -> Result<(), u64> {
        self.limiter
            .check_key(&(site.to_owned(), client.0.map(bucket_of)))
            .map_err(|not_until| {
                not_until
                    .wait_time_from(DefaultClock::default().now())
                    .as_secs()
                    .max(1)
            })
    }

    /// Forgets clients whose bucket is full again; call it now and then so the limiter's
    /// memory stays bounded.
    pub fn forget_idle_clients(&self) {
        self.limiter.retain_recent();
    }
}

impl RateLimit {
    /// The shopper routes' default: a burst of 30 requests, then one a second. A shopper
    /// opens a panel now and then; each request reads the ledger and the referral state.
    pub fn shopper() -> RateLimit {
        RateLimit::new(30, Duration::from_secs(1)).expect("non-zero limits")
    }
}

impl Default for RateLimit {
    /// A burst of 120 batches, then 20 per second: far above what one browser sends.
    fn default() -> Self {
        RateLimit::new(120, Duration::from_millis(50)).expect("non-zero limits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1").unwrap();
        let lb = Some(ip("10.1.2.3"));
        // Through the balancer: the address it saw.
        assert_eq!(t.client(lb, &["203.0.113.7"]), Some(ip("203.0.113.7")));
        // A client-written entry to the left of the real one is ignored.
        assert_eq!(
            t.client(lb, &["1.1.1.1, 203.0.113.7, 192.0.2.1"]),
            Some(ip("203.0.113.7"))
        );
        // Header lines are read in order.
        assert_eq!(
            t.client(lb, &["1.1.1.1", "203.0.113.7"]),
            Some(ip("203.0.113.7"))
        );
        // An untrusted peer's header is never read.
        assert_eq!(
            t.client(Some(ip("198.51.100.9")), &["203.0.113.7"]),
            Some(ip("198.51.100.9"))
        );
        // No header, or garbage in it: the last trusted hop.
        assert_eq!(t.client(lb, &[]), lb);
        assert_eq!(t.client(lb, &["not-an-ip"]), lb);
        // A hop with a port is its address.
        assert_eq!(
            t.client(lb, &["203.0.113.7:52311"]),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            t.client(lb, &["[2001:db8::7]:443"]),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(t.client(lb, &["[2001:db8::8]"]), Some(ip("2001:db8::8")));
        // IPv4-mapped IPv6 peers match IPv4 ranges.
        assert_eq!(
            t.client(Some(ip("::ffff:10.0.0.5")), &["203.0.113.8"]),
            Some(ip("203.0.113.8"))
        );
        // Nothing trusted: the peer, whatever the header says.
        let none = TrustedProxies::default();
        assert_eq!(none.client(lb, &["203.0.113.7"]), lb);
        assert_eq!(none.client(None, &["203.0.113.7"]), None);
    }

    #[test]
    fn an_ipv6_client_is_its_64() {
        assert_eq!(bucket_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            bucket_of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(bucket_of(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket_of(ip("203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(bucket_of(ip("::ffff:203.0.113.7")), ip("203.0.113.7"));
    }

    #[test]
    fn a_bad_range_is_named() {
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8,10.0.0.0/33").unwrap_err(),
            "\"10.0.0.0/33\" is not an address or CIDR range"
        );
        assert!(TrustedProxies::parse("").is_ok());
        assert!(TrustedProxies::parse("::1, fd00::/8").is_ok());
    }
}
