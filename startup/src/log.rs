//! Where log lines go: stderr, a line at a time — except on the runtime's worker threads, which
//! hold their info and debug lines until they go idle (or hold 16 KiB), then write them at once.
//! Under load that is one `write` for dozens of access log lines instead of one each (the
//! system call was about a twentieth of a GET's CPU); at rest a line still leaves as soon as
//! its request is answered. Warnings and errors never wait: they go out at once, after the
//! thread's held lines, so a thread's lines keep their order.
//!
//! Not a logging thread (tracing-appender's non-blocking writer): on the few cores these
//! services share, waking another thread for a line costs more than the write it saves.

use std::cell::RefCell;
use std::io::{self, Write};

use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

/// Held lines are written once they reach this many bytes.
const WRITE_AT: usize = 16 * 1024;

thread_local! {
    static HELD: RefCell<Held> = const {
        RefCell::new(Held {
            lines: Vec::new(),
            holding: false,
        })
    };
}

/// A thread's held lines, and whether it holds lines at all (it has gone idle as a worker).
struct Held {
    lines: Vec<u8>,
    holding: bool,
}

impl Held {
    fn write_out(&mut self) {
        if !self.lines.is_empty() {
            // A log line that cannot be written has nowhere else to go.
            let _ = emit(&self.lines);
            self.lines.clear();
        }
    }
}

/// Writes lines out: to stderr.
#[cfg(not(test))]
fn emit(bytes: &[u8]) -> io::Result<()> {
    io::stderr().write_all(bytes)
}

/// Writes lines out: in this module's tests, to the thread's record of them.
#[cfg(test)]
fn emit(bytes: &[u8]) -> io::Result<()> {
    tests::EMITTED.with(|emitted| emitted.borrow_mut().extend_from_slice(bytes));
    Ok(())
}

impl Drop for Held {
    fn drop(&mut self) {
        self.write_out();
    }
}

/// For the runtime's `on_thread_park`: a worker is going idle. Writes what it holds; from now
/// on this thread holds its lines.
pub(crate) fn worker_idle() {
    let _ = HELD.try_with(|held| {
        if let Ok(mut held) = held.try_borrow_mut() {
            held.holding = true;
            held.write_out();
        }
    });
}

/// For the runtime's `on_thread_stop`: writes what the worker holds before it goes.
pub(crate) fn worker_stopping() {
    let _ = HELD.try_with(|held| {
        if let Ok(mut held) = held.try_borrow_mut() {
            held.holding = false;
            held.write_out();
        }
    });
}

/// The log's writer (tracing-subscriber formats a whole line, then writes it).
pub(crate) struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line { urgent: true }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Line {
        Line {
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

/// One line on its way out.
pub(crate) struct Line {
    urgent: bool,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let held = HELD.try_with(|held| {
            let Ok(mut held) = held.try_borrow_mut() else {
                return false;
            };
            if held.holding && !self.urgent {
                held.lines.extend_from_slice(bytes);
                if held.lines.len() >= WRITE_AT {
                    held.write_out();
                }
                true
            } else {
                held.write_out();
                false
            }
        });
        match held {
            Ok(true) => {}
            _ => emit(bytes)?,
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::cell::RefCell;
    use std::io::Write as _;

    use super::{HELD, Line, WRITE_AT, worker_idle, worker_stopping};

    thread_local! {
        /// What this thread's lines wrote out, in order.
        pub(super) static EMITTED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    fn line(text: &[u8]) {
        Line { urgent: false }.write_all(text).unwrap();
    }

    fn emitted() -> Vec<u8> {
        EMITTED.with(|emitted| std::mem::take(&mut *emitted.borrow_mut()))
    }

    fn held() -> usize {
        HELD.with(|held| held.borrow().lines.len())
    }

    #[test]
    fn a_worker_holds_lines_until_it_is_idle_and_never_holds_a_warning() {
        std::thread::spawn(|| {
            // Not yet a worker that has gone idle: written at once.
            line(b"before\n");
            assert_eq!(emitted(), b"before\n");
            worker_idle();
            line(b"one\n");
            line(b"two\n");
            assert_eq!((emitted(), held()), (Vec::new(), 8));
            // A warning goes out at once, after what the thread held.
            Line { urgent: true }.write_all(b"warning\n").unwrap();
            assert_eq!(emitted(), b"one\ntwo\nwarning\n");
            line(b"three\n");
            worker_idle();
            assert_eq!(emitted(), b"three\n");
            // A full buffer goes out without waiting.
            line(&[b'x'; WRITE_AT]);
            assert_eq!((emitted().len(), held()), (WRITE_AT, 0));
            line(b"last\n");
            worker_stopping();
            assert_eq!(emitted(), b"last\n");
            line(b"after\n");
            assert_eq!(emitted(), b"after\n", "a stopped worker holds nothing");
        })
        .join()
        .unwrap();
    }
}
