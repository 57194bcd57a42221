//! Authentication once per call: a tower layer in front of every `identity.v1` service that
//! establishes the caller from its key, asks the permission model whether that caller may call
//! the RPC the path names, and hands the handler the typed result ([`Authorized`]). A refused
//! call never reaches a handler.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::transport::server::TcpConnectInfo;
use tower::{Layer, Service};

use crate::auth;
use crate::error::ApiError;
use crate::policy::{self, Caller, Rpc};
use crate::store::Store;

/// What the layer established for a call: the RPC, and who called it.
#[derive(Debug, Clone)]
pub(crate) struct Authorized {
    pub rpc: Rpc,
    pub caller: Caller,
}

#[derive(Debug, Clone)]
pub(crate) struct AuthenticateLayer {
    store: Store,
}

impl AuthenticateLayer {
    pub fn new(store: Store) -> Self {
        AuthenticateLayer { store }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            store: self.store.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Authenticate<S> {
    inner: S,
    store: Store,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for Authenticate<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // Health checks and reflection are open to every client, and so are the RPCs whose
        // request carries its own credential.
        let Some(rpc) = Rpc::from_path(request.uri().path()).filter(|rpc| !policy::is_open(*rpc))
        else {
            return Box::pin(self.inner.call(request));
        };
        // The clone that was made ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let store = self.store.clone();
        Box::pin(async move {
            let peer = request
                .extensions()
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr);
            // The headers are lent to the decision (the request's body need not be Sync).
            let headers = std::mem::take(request.headers_mut());
            let decided = async {
                let caller = auth::authenticate(&store, &headers, peer).await?;
                policy::authorize(&caller, rpc)?;
                Ok::<_, ApiError>(caller)
            }
            .await;
            *request.headers_mut() = headers;
            match decided {
                Ok(caller) => {
                    request.extensions_mut().insert(Authorized { rpc, caller });
                    inner.call(request).await
                }
                Err(error) => Ok(tonic::Status::from(error).into_http()),
            }
        })
    }
}
