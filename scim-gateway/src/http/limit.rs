//! Per-key request rate limits: each SCIM key gets `per_second` requests a second with bursts
//! of `burst`, on this replica. Keys are told apart by a salted hash of the `Authorization`
//! header, so the limiter holds no credential, and one key's burst never throttles another's.

use std::hash::BuildHasher as _;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use http::{StatusCode, header};

use crate::scim::error::ScimError;

/// How often buckets of keys that have been quiet long enough to be full again are forgotten,
/// so that a stream of distinct (mostly invalid) keys cannot grow the table without bound.
const FORGET_QUIET_KEYS_EVERY: Duration = Duration::from_secs(10);

/// `--rate-limit N --rate-burst B`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `None` when `per_second` is 0 (limits off); a burst below the rate is raised to it.
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let per_second = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(per_second.get())).unwrap_or(per_second);
        Some(RateLimit { per_second, burst })
    }
}

/// The limiter every request passes, shared by all connections of this replica.
pub(crate) struct KeyLimiter {
    buckets: DefaultKeyedRateLimiter<u64>,
    salt: std::hash::RandomState,
    clock: DefaultClock,
}

impl KeyLimiter {
    /// A limiter, and the task that keeps its table small (run it on the server's runtime).
    pub(crate) fn new(limit: RateLimit) -> (Arc<Self>, impl Future<Output = ()> + Send) {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        let limiter = Arc::new(KeyLimiter {
            buckets: DefaultKeyedRateLimiter::keyed(quota),
            salt: std::hash::RandomState::new(),
            clock: DefaultClock::default(),
        });
        let weak = Arc::downgrade(&limiter);
        let housekeeping = async move {
            let mut every = tokio::time::interval(FORGET_QUIET_KEYS_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(limiter) = weak.upgrade() else {
                    return;
                };
                limiter.buckets.retain_recent();
                limiter.buckets.shrink_to_fit();
            }
        };
        (limiter, housekeeping)
    }

    /// Lets the request through, or refuses it with 429 and the whole seconds until its key
    /// may call again (Okta honours only delta-seconds in `Retry-After`).
    pub(crate) fn check(&self, request: Request) -> Result<Request, ScimError> {
        let credential = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(http::HeaderValue::as_bytes);
        match self.admit(credential) {
            Ok(()) => Ok(request),
            Err(seconds) => Err(ScimError {
                retry_after: Some(seconds),
                ..ScimError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    None,
                    format!("this key is over its request rate; retry in {seconds} s"),
                )
            }),
        }
    }

    /// Counts a request made with `credential` (`None`: without one); over the rate, the whole
    /// seconds until it may call again.
    pub(crate) fn admit(&self, credential: Option<&[u8]>) -> Result<(), u32> {
        let key = self.salt.hash_one(credential);
        self.buckets.check_key(&key).map_err(|not_until| {
            metrics::counter!("scim_rate_limited_total").increment(1);
            let wait = not_until.wait_time_from(self.clock.now());
            u32::try_from(wait.as_secs())
                .unwrap_or(u32::MAX)
                .saturating_add(u32::from(wait.subsec_nanos() > 0))
                .max(1)
        })
    }
}
