//! SQLite's one writer, with group commit: a thread owns the writing connection and runs the
//! writes queued while it was busy in one transaction, each in its own savepoint.
//!
//! A commit writes every page the transaction touched to the WAL, and every
//! `wal_autocheckpoint` pages copies them back into the database file with an fsync. Creating a
//! user touches a dozen pages (the row, its emails, their indexes, the change log), and most of
//! them — index leaves, the log's tail — are the same pages the next user's creation touches.
//! Committed together, sixteen concurrent writes cost little more WAL than one; committed one
//! by one, the commit was half of a `POST /Users`' cost in the service.
//!
//! Nothing changes for a caller: its operation runs in a transaction of its own (a savepoint,
//! or a plain transaction when it queued alone), a failed one is rolled back alone, and its
//! answer is sent only after the transaction that holds it has committed — if that commit
//! fails, every operation in it fails. A lone write is never delayed: the thread starts a
//! transaction as soon as one is queued.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::Connection as _;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::connection::{AnyConnection, ConnectionManager};
use super::{StoreError, StoreResult};

/// At most this many writes commit together.
const MOST_PER_COMMIT: usize = 64;

/// How often the WAL is copied back into the database file, beside the writes.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// WAL pages past which the writer checkpoints itself: a backstop, should the checkpoints
/// beside it fall behind (SQLite's default is 1,000, checked at every commit, and the writes
/// behind that commit waited for the copy and its fsync).
const WRITER_CHECKPOINT_PAGES: u32 = 16_000;

/// A queued write: runs its operation in a savepoint and returns what to do once the enclosing
/// transaction has committed or failed.
type Job = Box<dyn FnOnce(&mut AnyConnection) -> Settle + Send>;
type Settle = Box<dyn FnOnce(Result<(), &Failed>) + Send>;

/// Why a transaction of several writes did not commit (told to each of them).
#[derive(Debug, Clone)]
struct Failed {
    kind: Option<DatabaseErrorKind>,
    message: String,
}

impl Failed {
    fn new(error: &DieselError) -> Self {
        Failed {
            kind: match error {
                DieselError::DatabaseError(kind, _) => Some(*kind),
                _ => None,
            },
            message: error.to_string(),
        }
    }

    fn to_store_error(&self) -> StoreError {
        match self.kind {
            Some(kind) => StoreError::Database(DieselError::DatabaseError(
                kind,
                Box::new(self.message.clone()),
            )),
            None => StoreError::Unavailable(format!("the write did not commit: {}", self.message)),
        }
    }
}

/// The handle on the writer thread; dropping the last one stops it.
pub(super) struct Writer {
    jobs: mpsc::Sender<(Instant, Job)>,
    /// Dropped with the writer, which stops the checkpoints.
    _checkpoints: mpsc::Sender<()>,
}

impl Writer {
    /// Starts the writer thread on `conn`; `manager` opens a fresh connection should a write
    /// leave `conn` unusable (a panic in the middle of a transaction).
    pub(super) fn start(
        conn: AnyConnection,
        manager: ConnectionManager,
        waits: metrics::Histogram,
        batches: metrics::Histogram,
    ) -> StoreResult<Writer> {
        let unstarted = |error: std::io::Error| {
            StoreError::Unavailable(format!("cannot start the writer: {error}"))
        };
        let (checkpoints, stopped) = mpsc::channel();
        let checkpointing = manager.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoints".into())
            .spawn(move || checkpoint(&checkpointing, &stopped))
            .map_err(unstarted)?;
        let conn = writing(conn)?;
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                WriterThread {
                    conn: Some(conn),
                    manager,
                    waits,
                    batches,
                }
                .run(queue)
            })
            .map_err(unstarted)?;
        Ok(Writer {
            jobs,
            _checkpoints: checkpoints,
        })
    }

    /// Runs `operation` in a write transaction of its own, committed (perhaps with others)
    /// before this returns.
    pub(super) async fn write<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> StoreResult<T> + Send + 'static,
    {
        self.submit(operation)?.await.map_err(|_| {
            StoreError::Unavailable("the write was abandoned (see the service's log)".into())
        })?
    }

    /// Queues `operation`; the receiver gets its outcome once its transaction has ended.
    fn submit<T, F>(
        &self,
        operation: F,
    ) -> StoreResult<tokio::sync::oneshot::Receiver<StoreResult<T>>>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> StoreResult<T> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // Nested in the enclosing transaction, diesel makes this a savepoint.
            let outcome = conn.transaction(operation);
            Box::new(move |committed| {
                let result = match (outcome, committed) {
                    (Ok(value), Ok(())) => Ok(value),
                    // Its own failure says more than the transaction's.
                    (Err(error), _) => Err(error),
                    (Ok(_), Err(failed)) => Err(failed.to_store_error()),
                };
                let _gone = answer.send(result);
            })
        });
        self.jobs
            .send((Instant::now(), job))
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        Ok(answered)
    }
}

/// The writer's connection: it leaves checkpoints to [`checkpoint`] but for a backstop, keeps
/// the pages its savepoints change (each write in a group commit is one) in a statement journal
/// in memory, not in a temporary file written page by page, and reads through its page cache
/// rather than the memory map: a bulk import touches every page of the file's first 256 MB,
/// and through the map they all stayed in the process's RSS (280 MB after a million users).
fn writing(mut conn: AnyConnection) -> StoreResult<AnyConnection> {
    use diesel::connection::SimpleConnection as _;
    conn.batch_execute(&format!(
        "PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}; PRAGMA temp_store = MEMORY;
         PRAGMA mmap_size = 0;"
    ))?;
    Ok(conn)
}

/// Copies the WAL back into the database file every [`CHECKPOINT_INTERVAL`] until `stopped`
/// closes, on a connection of its own: passively (never waiting for readers or the writer),
/// and beside the writes rather than in the commit that happens to cross SQLite's threshold.
fn checkpoint(manager: &ConnectionManager, stopped: &mpsc::Receiver<()>) {
    use diesel::connection::SimpleConnection as _;
    let mut conn = None;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_INTERVAL) {
        if conn.is_none() {
            // It reads no pages through the map, nor caches them.
            conn = manager
                .establish()
                .and_then(|mut open| {
                    open.batch_execute("PRAGMA mmap_size = 0; PRAGMA cache_size = 16;")?;
                    Ok(open)
                })
                .inspect_err(
                    |error| tracing::warn!(%error, "cannot open a connection for WAL checkpoints"),
                )
                .ok();
        }
        if let Some(open) = conn.as_mut()
            && let Err(error) = open.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")
        {
            tracing::warn!(%error, "a WAL checkpoint failed");
            conn = None;
        }
    }
}

struct WriterThread {
    /// `None` after a write left it unusable, until reopened.
    conn: Option<AnyConnection>,
    manager: ConnectionManager,
    waits: metrics::Histogram,
    batches: metrics::Histogram,
}

impl WriterThread {
    fn run(mut self, queue: mpsc::Receiver<(Instant, Job)>) {
        while let Ok(first) = queue.recv() {
            let mut batch = vec![first];
            while batch.len() < MOST_PER_COMMIT {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.batches.record(batch.len() as f64);
            self.commit(batch);
        }
    }

    /// Runs `batch` in one transaction and settles each write with its outcome.
    fn commit(&mut self, batch: Vec<(Instant, Job)>) {
        let alone = batch.len() == 1;
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => {
                // Backs off a little so that a database that stays unusable is not hammered.
                std::thread::sleep(Duration::from_millis(50));
                match self.manager.establish().and_then(writing) {
                    Ok(conn) => conn,
                    Err(error) => {
                        // Dropped unrun, the writes answer that they were abandoned.
                        tracing::error!(%error, writes = batch.len(), "the SQLite writer cannot reopen its connection");
                        return;
                    }
                }
            }
        };
        let mut settles = Vec::with_capacity(batch.len());
        let mut panicked = false;
        let run = |conn: &mut AnyConnection| {
            for (queued, job) in batch {
                self.waits.record(queued.elapsed().as_secs_f64());
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn))) {
                    Ok(settle) => settles.push(settle),
                    // Its caller learns it was abandoned; the transaction may be in any state,
                    // so nothing in it commits.
                    Err(_) => {
                        panicked = true;
                        return Err(DieselError::RollbackTransaction);
                    }
                }
            }
            Ok(())
        };
        let committed = if alone {
            // Its own transaction, without a savepoint's statements.
            run(&mut conn)
        } else {
            conn.transaction::<_, DieselError, _>(run)
        };
        let outcome = match committed {
            Ok(()) => Ok(()),
            Err(_) if panicked => Err(Failed {
                kind: None,
                message: "another write in its transaction panicked".into(),
            }),
            Err(error) => Err(Failed::new(&error)),
        };
        match &outcome {
            // A connection whose transaction state diesel may have lost track of is not reused.
            Err(failed) => tracing::error!(
                error = %failed.message,
                writes = settles.len(),
                "a SQLite write transaction failed; its writes are rolled back"
            ),
            Ok(()) => self.conn = Some(conn),
        }
        for settle in settles {
            settle(outcome.as_ref().map(|_| ()));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use diesel::RunQueryDsl as _;
    use diesel::connection::SimpleConnection as _;

    use super::*;
    use crate::store::connection::DatabaseUrl;

    /// A writer on a fresh database with one table, `t`.
    async fn start(dir: &tempfile::TempDir) -> Writer {
        let url = DatabaseUrl::parse(dir.path().join("writer.db").to_str().unwrap()).unwrap();
        let conn = ConnectionManager::new(url.clone()).establish().unwrap();
        let writer = Writer::start(
            conn,
            ConnectionManager::new(url),
            metrics::Histogram::noop(),
            metrics::Histogram::noop(),
        )
        .unwrap();
        writer
            .write(execute("CREATE TABLE t (v TEXT PRIMARY KEY)"))
            .await
            .unwrap();
        writer
    }

    fn execute(sql: &'static str) -> impl FnOnce(&mut AnyConnection) -> StoreResult<()> {
        move |conn| Ok(conn.batch_execute(sql)?)
    }

    /// Occupies the writer until the returned sender is dropped, so that the writes submitted
    /// meanwhile queue up and commit together; returns once the writer is occupied.
    fn occupy(writer: &Writer) -> std::sync::mpsc::Sender<()> {
        let (started, has_started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let _first = writer
            .submit(move |conn| {
                started.send(()).unwrap();
                let _ = released.recv();
                Ok(conn.batch_execute("INSERT INTO t VALUES ('first')")?)
            })
            .unwrap();
        has_started.recv().unwrap();
        release
    }

    async fn values(writer: &Writer) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        writer
            .write(|conn| {
                Ok(diesel::sql_query("SELECT v FROM t ORDER BY v")
                    .load::<Row>(conn)?
                    .into_iter()
                    .map(|row| row.v)
                    .collect())
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn writes_queued_together_commit_together_and_a_failed_one_alone_is_undone() {
        let dir = tempfile::tempdir().unwrap();
        let writer = start(&dir).await;

        let release = occupy(&writer);
        let b = writer
            .submit(execute("INSERT INTO t VALUES ('b')"))
            .unwrap();
        let taken = writer
            .submit(execute(
                "INSERT INTO t VALUES ('b'); INSERT INTO t VALUES ('c')",
            ))
            .unwrap();
        let d = writer
            .submit(execute("INSERT INTO t VALUES ('d')"))
            .unwrap();
        drop(release);

        b.await.unwrap().unwrap();
        let error = taken.await.unwrap().unwrap_err();
        assert!(
            matches!(
                error,
                StoreError::Database(DieselError::DatabaseError(
                    DatabaseErrorKind::UniqueViolation,
                    _
                ))
            ),
            "{error:?}"
        );
        d.await.unwrap().unwrap();
        // The failed write's first insert ('b' again) and its second ('c') are both undone.
        assert_eq!(values(&writer).await, ["b", "d", "first"]);
    }

    #[tokio::test]
    async fn a_panicking_write_fails_its_transaction_but_not_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let writer = start(&dir).await;

        let release = occupy(&writer);
        let before = writer
            .submit(execute("INSERT INTO t VALUES ('b')"))
            .unwrap();
        let panicking = writer
            .submit(|_: &mut AnyConnection| -> StoreResult<()> { panic!("a bug in a write") })
            .unwrap();
        let after = writer
            .submit(execute("INSERT INTO t VALUES ('d')"))
            .unwrap();
        drop(release);

        // Nothing of that transaction commits, and no one is told it did.
        assert!(matches!(
            before.await.unwrap(),
            Err(StoreError::Unavailable(_))
        ));
        assert!(
            panicking.await.is_err(),
            "its caller learns it was abandoned"
        );
        assert!(after.await.is_err());
        // The writer goes on, on a fresh connection.
        writer
            .write(execute("INSERT INTO t VALUES ('e')"))
            .await
            .unwrap();
        assert_eq!(values(&writer).await, ["e", "first"]);
    }
}
