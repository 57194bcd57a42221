//! Persistence: one diesel code path over SQLite (embedded default) and PostgreSQL.
//!
//! Diesel is synchronous, so operations run on tokio's blocking pool (or, for SQLite's point
//! reads, on the calling thread). SQLite takes one writer at a time: writes go to a single
//! dedicated connection on its own thread, which commits those that queue up together
//! ([`writer`]; callers never see SQLITE_BUSY from each other), while reads use a pool.
//! PostgreSQL uses the pool for both and relies on row locks and unique indexes.

mod access;
mod api_keys;
mod connection;
pub mod events;
mod filter;
mod groups;
mod ids;
mod memberships;
mod portal;
mod positions;
mod provisioning;
pub mod schema;
mod tenants;
mod users;
mod writer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::Connection as _;
use diesel::r2d2::{Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

pub(crate) use access::Access;
pub(crate) use api_keys::{FoundKey, Initialisation};
pub use connection::Backend;
use connection::ConnectionManager;
pub(crate) use connection::{AnyConnection, DatabaseUrl};
pub(crate) use portal::LinkRefusal;
pub use users::UserKey;

use crate::model::{Audit, Resource, UserId};
use crate::policy::{Caller, Denial};
use events::ChangeLog;

/// Which unique rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    UserName,
    GroupDisplayName,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(Resource),
    #[error("{} already exists", match .0 { Conflict::UserName => "a user with this user_name", Conflict::GroupDisplayName => "a group with this display_name" })]
    AlreadyExists(Conflict),
    /// An import's users whose names are taken in the tenant, by their positions in the batch.
    #[error("user names already taken: users {0:?} of the batch")]
    UserNamesTaken(Vec<usize>),
    #[error("version mismatch: expected {expected}, current {current}")]
    VersionMismatch { expected: i64, current: i64 },
    #[error("users not found in this tenant: {}", .0.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", "))]
    UnknownMembers(Vec<UserId>),
    #[error("the group was created in the product and has members: SCIM cannot link or change it")]
    NotLinkable,
    #[error("invalid filter: {0}")]
    InvalidFilter(&'static str),
    #[error("the API key is revoked")]
    KeyRevoked,
    /// The permission model refused the write, on the rows its transaction read.
    #[error("{0}")]
    Denied(#[from] Denial),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("cannot open the {backend} database: {cause}")]
    Connect { backend: Backend, cause: String },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(DieselError),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        StoreError::Database(error)
    }
}

impl StoreError {
    /// Classifies a failed insert or update: a unique-index violation is the rule it broke, a
    /// foreign-key violation a missing tenant; other errors pass through.
    fn from_write(error: DieselError, conflict: Conflict) -> Self {
        match error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::AlreadyExists(conflict)
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                StoreError::NotFound(Resource::Tenant)
            }
            other => StoreError::Database(other),
        }
    }

    /// Whether the failure was the connection's or a lost serialization race, not the
    /// request's: the client may retry it as it is.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Database(DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::SerializationFailure,
                _,
            ))
        )
    }
}

pub(crate) type StoreResult<T> = Result<T, StoreError>;

/// The version range a conditional write accepts: exactly `expected`, or any version.
/// (One `BETWEEN` keeps conditional and unconditional writes a single statement.)
fn version_bounds(expected: Option<i64>) -> (i64, i64) {
    expected.map_or((i64::MIN, i64::MAX), |version| (version, version))
}

/// A tenant's row of `$table` with id `$id` at version `$expected` (any version when `None`),
/// for a conditional update or delete.
macro_rules! at_version {
    ($table:ident, $tenant_id:expr, $id:expr, $expected:expr) => {{
        let (lowest, highest) = $crate::store::version_bounds($expected);
        $table::table
            .filter($table::tenant_id.eq($tenant_id))
            .filter($table::id.eq($id))
            .filter($table::version.between(lowest, highest))
    }};
}
use at_version;

/// Succeeds when a conditional write touched its row; else says why not: the row is gone, or
/// at another version (`current` reads it).
fn touched(
    rows: usize,
    expected: Option<i64>,
    current: impl FnOnce() -> StoreResult<i64>,
) -> StoreResult<()> {
    if rows > 0 {
        Ok(())
    } else {
        Err(missing_or_mismatch(current()?, expected))
    }
}

/// Why a conditional write touched no row, given that the row exists at `current`.
fn missing_or_mismatch(current: i64, expected: Option<i64>) -> StoreError {
    match expected {
        Some(expected) => StoreError::VersionMismatch { expected, current },
        // The row exists and any version was accepted: only a concurrent delete between the
        // two statements gets here.
        None => StoreError::VersionMismatch {
            expected: current,
            current,
        },
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections in the pool (reads; and writes on PostgreSQL).
    pub pool_size: u32,
    /// How long a call waits for a free connection before failing UNAVAILABLE.
    pub connect_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A handle on the database; cheap to clone. Writes through it are decided for its caller and
/// recorded in the change log as made by its [`Audit`] (the operator's tooling unless
/// [`Store::acting_as`]).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    context: Arc<CallContext>,
}

struct CallContext {
    caller: Caller,
    audit: Audit,
}

struct Inner {
    backend: Backend,
    pool: Pool<ConnectionManager>,
    /// SQLite only: the one connection that writes, with group commit.
    writer: Option<writer::Writer>,
    /// The last event sequence this process wrote: wakes watchers without waiting for a poll.
    events_written: tokio::sync::watch::Sender<i64>,
    /// When this process last recorded each key's use (so that concurrent calls with one key
    /// start one write a minute, not one each).
    key_uses: Mutex<std::collections::HashMap<String, crate::model::Micros>>,
    /// Keys found by hash lately (see `api_keys::KeyCache`).
    key_cache: api_keys::KeyCache,
    /// Where offset pages start and how long lists are, while their tenant is unchanged.
    positions: positions::Positions,
    /// Rows written since the planners' statistics were last refreshed, and whether a refresh
    /// is under way.
    written_rows: std::sync::atomic::AtomicUsize,
    refreshing: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating a SQLite file and its directory if needed) and migrates the database.
    pub async fn open(url: &str, options: StoreOptions) -> StoreResult<Store> {
        let url = DatabaseUrl::parse(url)?;
        tokio::task::spawn_blocking(move || Store::open_blocking(url, options))
            .await
            .map_err(|join| StoreError::Unavailable(join.to_string()))?
    }

    fn open_blocking(url: DatabaseUrl, options: StoreOptions) -> StoreResult<Store> {
        let manager = ConnectionManager::new(url.clone());
        // A first connection reports the real cause of a failure, and runs the migrations.
        let mut first = manager.establish()?;
        connection::run_migrations(&mut first)?;
        let backend = url.backend();
        // A fresh SQLite file has no statistics at all; PostgreSQL's are kept (by autovacuum,
        // and by `after_writes` and the hourly refresh here), and analyzing a large database on
        // every replica's start would delay its readiness by seconds.
        if backend == Backend::Sqlite {
            connection::refresh_statistics(&mut first)?;
        }
        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout)
            // Testing every connection on checkout would cost a round trip per call; instead a
            // connection that lost its server is marked and dropped when it returns.
            .test_on_check_out(false)
            .build_unchecked(manager);
        let writer = match backend {
            Backend::Sqlite => Some(writer::Writer::start(
                first,
                ConnectionManager::new(url),
                metrics::histogram!("identity_sqlite_writer_wait_seconds"),
                metrics::histogram!("identity_sqlite_writes_per_commit"),
            )?),
            Backend::Postgres => None,
        };
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                pool,
                writer,
                events_written: tokio::sync::watch::Sender::new(0),
                key_uses: Mutex::default(),
                key_cache: api_keys::KeyCache::default(),
                positions: positions::Positions::default(),
                written_rows: std::sync::atomic::AtomicUsize::new(0),
                refreshing: std::sync::atomic::AtomicBool::new(false),
            }),
            context: Arc::new(CallContext {
                caller: Caller::system(),
                audit: Audit::default(),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The same database, deciding writes for `caller` and recording them as made by `audit`'s
    /// actor and request.
    pub(crate) fn acting_as(&self, caller: Caller, audit: Audit) -> Store {
        Store {
            inner: Arc::clone(&self.inner),
            context: Arc::new(CallContext { caller, audit }),
        }
    }

    /// True when this process should record key `id`'s use at `now` (none recorded within
    /// the resolution).
    fn claim_key_use(&self, id: &str, now: crate::model::Micros) -> bool {
        let mut uses = self
            .inner
            .key_uses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match uses.get(id) {
            Some(last) if now - last < api_keys::KEY_USE_RESOLUTION => false,
            _ => {
                uses.insert(id.to_owned(), now);
                true
            }
        }
    }

    /// Changes whenever this process commits events (the value: the last sequence written).
    pub(crate) fn events_written(&self) -> tokio::sync::watch::Receiver<i64> {
        self.inner.events_written.subscribe()
    }

    /// Runs `operation` in a write transaction, deciding it for the caller there (see
    /// [`Access`]), and records the events it logs in the same transaction, last: the change and
    /// its record commit together or not at all.
    pub(crate) async fn write_logged<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, &mut Access, &mut ChangeLog) -> StoreResult<T>
            + Send
            + 'static,
    {
        let context = Arc::clone(&self.context);
        let (value, last, changes_keys, changed) = self
            .write(move |conn| {
                let mut access = Access::new(context.caller.clone());
                let mut log = ChangeLog::new(context.audit.actor.clone());
                let value = operation(conn, &mut access, &mut log)?;
                let changes_keys = log.changes_keys();
                let changed = log.len();
                let last = events::record(conn, &context.audit, log)?;
                Ok((value, last, changes_keys, changed))
            })
            .await?;
        self.after_writes(changed);
        // A revoked or rotated key, or a tenant's SCIM switch, takes effect at once here (and
        // within the cache's lifetime on other replicas).
        if changes_keys {
            self.inner.key_cache.clear();
        }
        if last > 0 {
            self.inner.events_written.send_if_modified(|known| {
                let newer = last > *known;
                if newer {
                    *known = last;
                }
                newer
            });
        }
        Ok(value)
    }

    /// Runs `operation` on a pooled connection inside a transaction, so that its statements see
    /// one state of the database.
    pub(crate) async fn read<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || inner.with_pooled(true, operation)).await
    }

    /// Runs a read of a single statement that touches a few rows through an index (an API key by
    /// hash, a tenant by id), without a transaction (which would cost PostgreSQL two more round
    /// trips). See [`Store::read_point`] for where it runs.
    pub(crate) async fn read_statement<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> StoreResult<T> + Send + 'static,
    {
        self.point(false, operation).await
    }

    /// Runs a read of a few rows through an index (a user by id or by name, with its emails)
    /// in a transaction. On SQLite it runs on the calling thread when a pooled connection is
    /// free at once: such a read takes microseconds, less than the hand-off to the blocking pool
    /// and back (which dominated the cost of a GetUser). PostgreSQL reads wait on the network
    /// and always run on the blocking pool, as do reads of many rows (lists, counts).
    pub(crate) async fn read_point<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> StoreResult<T> + Send + 'static,
    {
        self.point(true, operation).await
    }

    async fn point<T, F>(&self, transactional: bool, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> StoreResult<T> + Send + 'static,
    {
        if self.inner.backend == Backend::Sqlite
            && let Some(pooled) = self.inner.pool.try_get()
        {
            return run_on(pooled, transactional, operation);
        }
        let inner = Arc::clone(&self.inner);
        run_blocking(move || inner.with_pooled(transactional, operation)).await
    }

    /// Runs `operation` in a write transaction: all of its writes commit together or not at
    /// all, before this returns.
    pub(crate) async fn write<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> StoreResult<T> + Send + 'static,
    {
        match &self.inner.writer {
            Some(writer) => writer.write(operation).await,
            None => {
                let inner = Arc::clone(&self.inner);
                run_blocking(move || inner.with_pooled(true, operation)).await
            }
        }
    }

    /// Refreshes the query planners' statistics.
    pub(crate) async fn refresh_statistics(&self) -> StoreResult<()> {
        self.write(connection::refresh_statistics).await
    }

    /// Counts the rows written (by their events); once enough have been written since the
    /// last refresh, refreshes the planners' statistics in the background, one refresh at a
    /// time. A table grown fast (an import, a group pushed member by member) would otherwise be
    /// planned as the small table it was — PostgreSQL without autovacuum, or before it comes
    /// round, then reads every row where an index would do.
    fn after_writes(&self, rows: usize) {
        use std::sync::atomic::Ordering;
        const ROWS_BEFORE_REFRESH: usize = 20_000;
        let inner = &self.inner;
        if inner.written_rows.fetch_add(rows, Ordering::Relaxed) + rows < ROWS_BEFORE_REFRESH
            || inner.refreshing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        inner.written_rows.store(0, Ordering::Relaxed);
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(error) = store.refresh_statistics().await {
                tracing::warn!(%error, "refreshing planner statistics after many writes failed");
            }
            store.inner.refreshing.store(false, Ordering::Release);
        });
    }

    /// Connections of the pool: (in use, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.inner.pool.state();
        (
            state.connections - state.idle_connections,
            state.idle_connections,
        )
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        self.read_statement(|conn| {
            diesel::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), conn)?;
            Ok(())
        })
        .await
    }
}

impl Inner {
    fn with_pooled<T>(
        &self,
        transactional: bool,
        operation: impl FnOnce(&mut AnyConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let pooled = self
            .pool
            .get()
            .map_err(|error| StoreError::Unavailable(error.to_string()))?;
        run_on(pooled, transactional, operation)
    }
}

fn run_on<T>(
    mut pooled: PooledConnection<ConnectionManager>,
    transactional: bool,
    operation: impl FnOnce(&mut AnyConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    let outcome = if transactional {
        pooled.connection.transaction(operation)
    } else {
        operation(&mut pooled.connection)
    };
    if let Err(StoreError::Database(DieselError::DatabaseError(
        DatabaseErrorKind::ClosedConnection,
        _,
    ))) = &outcome
    {
        pooled.lost = true;
    }
    outcome
}

async fn run_blocking<T, F>(operation: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(operation)
        .await
        .map_err(|join| StoreError::Unavailable(format!("store task failed: {join}")))?
}
