//! Load shedding: at most so many `identity.v1` calls are worked on at once; a call beyond
//! that is answered RESOURCE_EXHAUSTED at once (with a retry hint) instead of queueing without
//! bound. The SCIM gateway answers it as 429 with `Retry-After`. Health and reflection are never
//! shed. A streaming call holds its slot until its response starts.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Semaphore;
use tower::{Layer, Service};

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub(crate) struct ShedLayer {
    slots: Arc<Semaphore>,
}

impl ShedLayer {
    /// At most `limit` calls at once.
    pub(crate) fn new(limit: usize) -> Self {
        ShedLayer {
            slots: Arc::new(Semaphore::new(limit)),
        }
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            slots: Arc::clone(&self.slots),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Shed<S> {
    inner: S,
    slots: Arc<Semaphore>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for Shed<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !request.uri().path().starts_with("/identity.v1.") {
            return Box::pin(self.inner.call(request));
        }
        let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() else {
            metrics::counter!("identity_calls_shed_total").increment(1);
            let status = tonic::Status::from(ApiError::Overloaded);
            return Box::pin(async move { Ok(status.into_http()) });
        };
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await;
            drop(slot);
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tokio::sync::oneshot;
    use tower::ServiceExt as _;

    use super::*;

    fn request() -> http::Request<()> {
        http::Request::builder()
            .uri("/identity.v1.Users/GetUser")
            .body(())
            .unwrap_or_default()
    }

    fn grpc_status(response: &http::Response<tonic::body::Body>) -> Option<&str> {
        response
            .headers()
            .get("grpc-status")
            .and_then(|value| value.to_str().ok())
    }

    /// With one slot taken by a call in progress, the next call is shed at once as
    /// RESOURCE_EXHAUSTED; once the first is done, calls are served again.
    #[tokio::test]
    async fn calls_beyond_the_limit_are_shed_at_once() {
        let (release, released) = oneshot::channel::<()>();
        let released = Arc::new(tokio::sync::Mutex::new(Some(released)));
        let inner = tower::service_fn(move |_: http::Request<()>| {
            let released = Arc::clone(&released);
            async move {
                if let Some(wait) = released.lock().await.take() {
                    let _ = wait.await;
                }
                Ok::<_, Infallible>(http::Response::new(tonic::body::Body::empty()))
            }
        });
        let service = ShedLayer::new(1).layer(inner);
        let first = tokio::spawn(service.clone().oneshot(request()));
        tokio::task::yield_now().await;
        let mut shed = None;
        for _ in 0..100 {
            let answer = service.clone().oneshot(request()).await;
            if let Ok(answer) = answer
                && grpc_status(&answer) == Some("8")
            {
                shed = Some(answer);
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(shed.is_some(), "the second call was not shed");
        let _ = release.send(());
        let served = first.await.ok().and_then(Result::ok);
        assert!(served.is_some_and(|answer| grpc_status(&answer).is_none()));
        let again = service.clone().oneshot(request()).await.ok();
        assert!(again.is_some_and(|answer| grpc_status(&answer).is_none()));
    }
}
