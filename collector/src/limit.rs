//! Rate limiting of ingest per client address (tower_governor), answered with 429 and
//! `Retry-After`. Client addresses are only held in memory for the limiter, never stored.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use governor::middleware::NoOpMiddleware;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

/// A bucket of `burst` requests per client, refilled by one every `refill`.
#[derive(Clone, Debug)]
pub struct RateLimit {
    config: Arc<GovernorConfig<ClientAddr, NoOpMiddleware>>,
}

/// The peer address of the connection. Requests without one (tests driving the router
/// directly) share a single bucket.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr;

impl KeyExtractor for ClientAddr {
    type Key = Option<IpAddr>;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        Ok(req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.ip()))
    }
}

impl RateLimit {
    /// `None` when `burst` or `refill` is zero.
    pub fn new(burst: u32, refill: Duration) -> Option<RateLimit> {
        let millis = u64::try_from(refill.as_millis()).ok().filter(|&m| m > 0)?;
        let config = GovernorConfigBuilder::default()
            .key_extractor(ClientAddr)
            .per_millisecond(millis)
            .burst_size(burst)
            .finish()?;
        Some(RateLimit {
            config: Arc::new(config),
        })
    }

    pub fn layer(&self) -> GovernorLayer<ClientAddr, NoOpMiddleware, axum::body::Body> {
        GovernorLayer::new(self.config.clone())
    }

    /// Forgets clients that have been quiet long enough to have a full bucket again; call it
    /// now and then so the limiter's memory stays bounded.
    pub fn forget_idle_clients(&self) {
        self.config.limiter().retain_recent();
    }
}

impl Default for RateLimit {
    /// A burst of 120 batches, then 20 per second: far above what one browser sends.
    fn default() -> Self {
        RateLimit::new(120, Duration::from_millis(50)).expect("non-zero limits")
    }
}
