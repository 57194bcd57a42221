//! Write coalescing for the gRPC connection between the gateway and the service: a
//! connection's writes wait until the runtime has run every task that was ready, then go out
//! together in one system call.
//!
//! Every SCIM request is a gRPC call over one multiplexed HTTP/2 connection. Written as they
//! come, each call costs a `writev` of its HEADERS, another of its DATA (hyper sends the body
//! from a second task), and one of the answer; each crosses the kernel's TCP stack and wakes the
//! peer. Held to the end of the runtime's pass, the frames of all the calls made in that pass
//! leave in one write and arrive in one read, on both sides. The delay is one pass of the
//! scheduler — no timer, so an idle connection is never held: when nothing else is ready, the
//! write goes out at once. (Netty's `FlushConsolidationHandler` does the same for the same
//! reason.)

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `io` whose writes are held until the runtime's current pass over ready tasks ends.
#[derive(Debug)]
pub struct CoalescedWrites<IO> {
    io: IO,
    round: Round,
}

#[derive(Debug)]
enum Round {
    /// Nothing is held: the next write starts a round.
    Idle,
    /// Writes wait for the end of the pass.
    Held(Arc<EndOfPass>),
    /// The pass has ended: writes go through until the next flush ends the round.
    Open,
}

/// Woken by the runtime at the end of its pass (tokio's deferred wake-ups, which
/// `tokio::task::yield_now` uses), it marks the round open and wakes the connection's task.
#[derive(Debug)]
struct EndOfPass {
    ended: AtomicBool,
    task: Mutex<Waker>,
}

impl Wake for EndOfPass {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ended.store(true, Ordering::Release);
        self.task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .wake_by_ref();
    }
}

impl<IO> CoalescedWrites<IO> {
    pub fn new(io: IO) -> Self {
        CoalescedWrites {
            io,
            round: Round::Idle,
        }
    }

    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// Ready once the writes of this round may go out.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match &self.round {
                Round::Open => return Poll::Ready(()),
                Round::Idle => {
                    let end = Arc::new(EndOfPass {
                        ended: AtomicBool::new(false),
                        task: Mutex::new(cx.waker().clone()),
                    });
                    // The first poll of `yield_now` hands its waker to the runtime, which wakes
                    // it after running the tasks that are ready (at once outside a runtime).
                    let waker = Waker::from(Arc::clone(&end));
                    let yield_now = std::pin::pin!(tokio::task::yield_now());
                    let _pending = yield_now.poll(&mut Context::from_waker(&waker));
                    self.round = Round::Held(end);
                }
                Round::Held(end) => {
                    if end.ended.load(Ordering::Acquire) {
                        self.round = Round::Open;
                        continue;
                    }
                    let mut task = end
                        .task
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    if !task.will_wake(cx.waker()) {
                        task.clone_from(cx.waker());
                    }
                    drop(task);
                    // It may have ended while the waker was replaced.
                    if end.ended.load(Ordering::Acquire) {
                        self.round = Round::Open;
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for CoalescedWrites<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for CoalescedWrites<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_open(cx));
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_open(cx));
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if matches!(this.round, Round::Held(_)) {
            // Nothing was written in this round yet: nothing to flush.
            return Pin::new(&mut this.io).poll_flush(cx);
        }
        let flushed = std::task::ready!(Pin::new(&mut this.io).poll_flush(cx));
        this.round = Round::Idle;
        Poll::Ready(flushed)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for CoalescedWrites<tokio::net::TcpStream> {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use tokio::io::AsyncWriteExt as _;

    /// Records each write that reaches it.
    struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

    impl AsyncWrite for Recorder {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.lock().unwrap().push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// A task that is ready but has not run yet (on this one-thread runtime), and whether it
    /// has run since.
    fn ready_task() -> Arc<AtomicBool> {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
        ran
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_round_of_writes_waits_for_the_ready_tasks_once_then_goes_out() {
        let writes = Arc::new(Mutex::new(Vec::new()));
        let mut io = CoalescedWrites::new(Recorder(Arc::clone(&writes)));

        let before_first = ready_task();
        io.write_all(b"HEADERS").await.unwrap();
        assert!(
            before_first.load(Ordering::SeqCst),
            "the first write of a round went out before the ready task ran"
        );
        // The round is open until the flush: a second write goes straight through.
        let before_second = ready_task();
        io.write_all(b"DATA").await.unwrap();
        assert!(!before_second.load(Ordering::SeqCst));
        io.flush().await.unwrap();

        // A new round waits again.
        let before_third = ready_task();
        io.write_all(b"HEADERS").await.unwrap();
        assert!(before_third.load(Ordering::SeqCst));
        assert_eq!(
            *writes.lock().unwrap(),
            [b"HEADERS".to_vec(), b"DATA".to_vec(), b"HEADERS".to_vec()]
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_lone_write_is_not_held() {
        // Nothing else is ready: the write goes out when the runtime finds no other work (no
        // timer; this would hang if it waited for one).
        let writes = Arc::new(Mutex::new(Vec::new()));
        let mut io = CoalescedWrites::new(Recorder(Arc::clone(&writes)));
        io.write_all(b"PING").await.unwrap();
        io.flush().await.unwrap();
        assert_eq!(*writes.lock().unwrap(), [b"PING".to_vec()]);
    }
}
