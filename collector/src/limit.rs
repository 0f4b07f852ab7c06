//! Rate limiting of ingest per site and client address (governor's keyed GCRA limiter),
//! answered with 429 and `Retry-After`. Client addresses live only in the limiter's memory,
//! are never stored, and are forgotten once idle.

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

/// A bucket of `burst` requests per site and client, refilled by one every `refill`.
#[derive(Clone, Debug)]
pub struct RateLimit {
    limiter: Arc<RateLimiter<Key, DefaultKeyedStateStore<Key>, DefaultClock>>,
}

/// The peer address of the request's connection, when there is one (tests that drive the
/// router directly have none and share one bucket per site).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

/// Middleware recording [`ClientAddr`] for the handlers.
pub async fn client_addr(mut request: Request, next: Next) -> Response {
    let addr = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
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
            .check_key(&(site.to_owned(), client.0))
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

impl Default for RateLimit {
    /// A burst of 120 batches, then 20 per second: far above what one browser sends.
    fn default() -> Self {
        RateLimit::new(120, Duration::from_millis(50)).expect("non-zero limits")
    }
}
