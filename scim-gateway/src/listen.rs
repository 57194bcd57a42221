//! The gateway's listeners, plain and TLS (rustls): every accepted connection with Nagle's
//! algorithm off, and the client's address for the provisioning log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream};

/// A TCP listener whose connections have Nagle's algorithm off: SCIM answers are small, and
/// with Nagle on each waits for the client's delayed ACK (~40 ms).
pub struct NoDelay(TcpListener);

/// The connections `listener` accepts, with Nagle's algorithm off.
pub fn nodelay(listener: TcpListener) -> NoDelay {
    NoDelay(listener)
}

impl Listener for NoDelay {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // axum's own accept, which rides out transient errors (EMFILE, resets).
        let (stream, addr) = Listener::accept(&mut self.0).await;
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on an accepted connection");
        }
        (stream, addr)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The address of a connection's client (a proxy's, behind one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) SocketAddr);

impl Connected<IncomingStream<'_, NoDelay>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, NoDelay>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// Accepted connections whose TLS handshake is under way, at most: more are closed at once, so
/// that clients that never finish a handshake cannot exhaust the process.
const MAX_HANDSHAKES: usize = 1024;
/// How long a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS listener: connections are accepted (Nagle off) and their handshakes run concurrently,
/// each bounded in time, so that a slow or silent client never holds up the next one; only
/// connections whose handshake succeeded are served.
pub struct TlsListener {
    established: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

/// The server side of TLS from a PEM certificate chain and private key (HTTP/2 and HTTP/1.1
/// offered by ALPN).
pub fn tls_config(cert: &[u8], key: &[u8]) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::Certificate(error.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Certificate(
            "no certificate in the file".to_owned(),
        ));
    }
    let key =
        PrivateKeyDer::from_pem_slice(key).map_err(|error| TlsError::Key(error.to_string()))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Config(error.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|error| TlsError::Config(error.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate: {0}")]
    Certificate(String),
    #[error("cannot read the TLS private key: {0}")]
    Key(String),
    #[error("the TLS certificate and key do not make a server configuration: {0}")]
    Config(String),
}

/// Serves TLS on `listener` with `config`; the handshakes run on the current runtime until the
/// returned listener is dropped.
pub fn tls(listener: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
    let local = listener.local_addr()?;
    let (established_sender, established) = mpsc::channel(64);
    tokio::spawn(handshake_all(
        nodelay(listener),
        TlsAcceptor::from(config),
        established_sender,
    ));
    Ok(TlsListener { established, local })
}

async fn handshake_all(
    mut listener: NoDelay,
    acceptor: TlsAcceptor,
    established: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let (stream, addr) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            // The server stopped accepting: stop listening.
            () = established.closed() => return,
        };
        let Ok(permit) = Arc::clone(&handshakes).try_acquire_owned() else {
            tracing::debug!(%addr, "too many TLS handshakes under way; connection closed");
            continue;
        };
        let acceptor = acceptor.clone();
        let established = established.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    drop(permit);
                    let _ = established.send((stream, addr)).await;
                }
                Ok(Err(error)) => tracing::debug!(%addr, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.established.recv().await {
            Some(established) => established,
            // The handshake task ended, which it does only once this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}
