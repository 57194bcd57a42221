//! The gateway's listeners: every accepted connection with Nagle's algorithm off, and the
//! client's address for the provisioning log.

use std::net::SocketAddr;

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
