//! What bounds a connection's and a request's hold on the server: a deadline for the request
//! headers (hyper's, set on each connection), a deadline for the whole request body, and a
//! cap on the requests in progress at once. A slow or silent client thus holds a connection
//! for seconds, and never more than the cap of them hold the server's work at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::error::AppError;

/// The server's bounds; [`Limits::default`] is what the collector runs with unless told.
#[derive(Clone, Debug)]
pub struct Limits {
    /// A connection that has not sent a whole request head within this is closed.
    pub header_timeout: Duration,
    /// A request whose body has not fully arrived within this is answered 408.
    pub body_timeout: Duration,
    /// Requests in progress at once (health checks aside); beyond it, 503 with Retry-After.
    pub in_flight: InFlight,
}

impl Limits {
    pub fn new(header_timeout: Duration, body_timeout: Duration, max_concurrent: usize) -> Limits {
        Limits {
            header_timeout,
            body_timeout,
            in_flight: InFlight::new(max_concurrent),
        }
    }
}

impl Default for Limits {
    /// 10 s for the head, 10 s for the body, 256 requests at once.
    fn default() -> Limits {
        Limits::new(Duration::from_secs(10), Duration::from_secs(10), 256)
    }
}

/// The cap on requests in progress, shared by every route it guards.
#[derive(Clone, Debug)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(max: usize) -> InFlight {
        InFlight(Arc::new(Semaphore::new(max.max(1))))
    }
}

/// Seconds a client refused by the cap should wait.
const BUSY_RETRY_SECS: u64 = 1;

/// Refuses a request at once with 503 while `max_concurrent` others are in progress, then
/// reads its whole body within `body_timeout` (408 otherwise), before any handler sees it.
/// Bodies over [`crate::MAX_BODY_BYTES`] as sent are refused with 413 here; the decompressed
/// size is checked again by the ingest route.
pub async fn bounded(
    State((in_flight, body_timeout)): State<(InFlight, Duration)>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = in_flight.0.clone().try_acquire_owned() else {
        return AppError::Busy(BUSY_RETRY_SECS).into_response();
    };
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, crate::MAX_BODY_BYTES);
    let bytes = match tokio::time::timeout(body_timeout, read).await {
        Err(_) => return AppError::RequestTimeout(body_timeout.as_secs()).into_response(),
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                return AppError::PayloadTooLarge.into_response();
            }
            return AppError::bad_request(format!("body: could not be read ({e})")).into_response();
        }
        Ok(Ok(bytes)) => bytes,
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in
/// progress finish. Each connection gets the header deadline of `limits` and its peer
/// address as [`ConnectInfo`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: &Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service =
            router
                .clone()
                .map_request(move |mut request: Request<hyper::body::Incoming>| {
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    request
                });
        let service = hyper_util::service::TowerToHyperService::new(service);
        // HTTP/1.1, as axum::serve speaks it here; the timer is what arms the deadline.
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
