//! Choosing the backend from the URL, opening connections with the right settings, migrations.

use std::fmt;
use std::path::PathBuf;

use diesel::connection::SimpleConnection as _;
use diesel::r2d2::ManageConnection;
use diesel::{Connection as _, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};

use super::{StoreError, StoreResult};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Held while migrating so that replicas starting together migrate one at a time.
const MIGRATION_LOCK_KEY: i64 = 0x6964_656e_7469_7479; // "identity"

#[derive(diesel::MultiConnection)]
pub(crate) enum AnyConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$c` bound to the connection of the backend behind `$conn`, for the
/// statements every call runs (a key by hash, a user by id or name, a user's emails). Diesel's
/// multi-backend connection serializes a statement again on every run, ~60k instructions for a
/// small one; on the backend's own connection a statement of a fixed type is prepared once and
/// found again by its type. `$body` is compiled for each backend.
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::connection::AnyConnection::Sqlite($c) => $body,
            $crate::store::connection::AnyConnection::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// An UPDATE prepared once per connection and SQL text, then reused. Diesel prepares every
/// UPDATE afresh (a changeset's columns vary, so it will not promise a bounded cache); ours
/// have a handful of texts each, and preparing one on SQLite was about 20,000 instructions —
/// a twentieth of creating a user. Cached by text, never by type: two texts never share a
/// statement.
pub(crate) struct PreparedOnce<Q>(Q);

/// `.prepared_once()` on an UPDATE statement.
pub(crate) trait PrepareOnce: Sized {
    fn prepared_once(self) -> PreparedOnce<Self> {
        PreparedOnce(self)
    }
}

impl<T: diesel::QuerySource, U, V, Ret> PrepareOnce
    for diesel::query_builder::UpdateStatement<T, U, V, Ret>
{
}

impl<Q> diesel::query_builder::QueryId for PreparedOnce<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for PreparedOnce<Q> {
    type SqlType = Q::SqlType;
}

impl<DB, Q> diesel::query_builder::QueryFragment<DB> for PreparedOnce<Q>
where
    DB: diesel::backend::Backend,
    Q: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(
        &'b self,
        pass: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _: &DB) -> diesel::QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Conn> diesel::RunQueryDsl<Conn> for PreparedOnce<Q> {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// A database location: `postgres://…` / `postgresql://…`, or `sqlite://PATH`, `sqlite:PATH` or
/// a bare path for SQLite.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            // The URL may carry a password.
            DatabaseUrl::Postgres(_) => f.write_str("postgres://…"),
        }
    }
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> StoreResult<Self> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(StoreError::Connect {
                backend: Backend::Sqlite,
                cause: format!(
                    "unsupported database URL {url:?}: use postgres://… or a SQLite file path"
                ),
            });
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Opens connections for the pool, each set up for its backend.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        ConnectionManager { url }
    }

    pub fn establish(&self) -> StoreResult<AnyConnection> {
        match &self.url {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(AnyConnection::Postgres)
                .map_err(|error| StoreError::Connect {
                    backend: Backend::Postgres,
                    cause: error.to_string(),
                }),
            DatabaseUrl::Sqlite(path) => {
                let connect_error = |cause: String| StoreError::Connect {
                    backend: Backend::Sqlite,
                    cause: format!("{}: {cause}", path.display()),
                };
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|error| connect_error(error.to_string()))?;
                }
                let path_text = path
                    .to_str()
                    .ok_or_else(|| connect_error("path is not UTF-8".into()))?;
                let mut conn = SqliteConnection::establish(path_text)
                    .map_err(|error| connect_error(error.to_string()))?;
                // busy_timeout covers other connections (another process starting, or `init`)
                // holding a lock for a moment. Memory-mapped reads spare a pread (and a copy)
                // per page; the page cache is per connection, so it stays modest.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA mmap_size = 268435456;
                     PRAGMA cache_size = -16384;",
                )
                .map_err(|error| connect_error(error.to_string()))?;
                enable_wal(&mut conn).map_err(|error| connect_error(error.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// Switches the file to WAL (readers run beside the writer). The switch needs an exclusive lock
/// and SQLite does not wait for that one, so it is retried while another connection is busy.
fn enable_wal(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    let mut attempts = 0;
    loop {
        match conn.batch_execute("PRAGMA journal_mode = WAL;") {
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("locked") && attempts < 100 =>
            {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            outcome => return outcome,
        }
    }
}

/// A pooled connection that remembers losing its server, so that the pool drops it rather than
/// hand it out again.
pub(crate) struct PoolConnection {
    pub connection: AnyConnection,
    pub lost: bool,
}

impl ManageConnection for ConnectionManager {
    type Connection = PoolConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<PoolConnection, StoreError> {
        Ok(PoolConnection {
            connection: self.establish()?,
            lost: false,
        })
    }

    fn is_valid(&self, conn: &mut PoolConnection) -> Result<(), StoreError> {
        conn.connection
            .batch_execute("SELECT 1")
            .map_err(StoreError::from)
    }

    fn has_broken(&self, conn: &mut PoolConnection) -> bool {
        conn.lost || diesel::r2d2::R2D2Connection::is_broken(&mut conn.connection)
    }
}

pub(crate) fn run_migrations(conn: &mut AnyConnection) -> StoreResult<()> {
    let migration_error =
        |error: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(error.to_string());
    match conn {
        AnyConnection::Sqlite(conn) => {
            // BEGIN IMMEDIATE takes the write lock before reading which migrations ran, so that
            // processes starting together migrate one after the other.
            conn.immediate_transaction(|conn| {
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|_| ())
                    .map_err(|error| StoreError::Migration(error.to_string()))
            })?;
        }
        AnyConnection::Postgres(conn) => {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let outcome = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(migration_error);
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            outcome?;
        }
    }
    Ok(())
}

/// The query planners' statistics. SQLite plans from `sqlite_stat1`; without it, it may prefer
/// walking a tenant's creation-order index to a selective lookup index (a bounded ANALYZE keeps
/// the cost small on large databases). PostgreSQL samples a bounded number of rows per table.
pub(crate) fn refresh_statistics(conn: &mut AnyConnection) -> StoreResult<()> {
    match conn {
        AnyConnection::Sqlite(conn) => {
            conn.batch_execute("PRAGMA analysis_limit = 1000; ANALYZE;")?
        }
        // Autovacuum analyzes too, when it is on and gets to it; without statistics the planner
        // reads every email to look one user up (270 ms at a million users, 0.1 ms with them).
        AnyConnection::Postgres(conn) => {
            conn.batch_execute("ANALYZE users, user_emails, \"groups\", memberships, events;")?
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use diesel::prelude::*;

    use super::PrepareOnce as _;

    diesel::table! {
        pairs (id) {
            id -> Integer,
            left -> Integer,
            right -> Integer,
        }
    }

    /// Updates of different texts never share a statement, and one text is reused with new
    /// values, on one connection (the writer's: every write goes through it).
    #[test]
    fn prepared_once_updates_are_told_apart_by_their_text() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        diesel::sql_query(
            "CREATE TABLE pairs (id INTEGER PRIMARY KEY, left INTEGER, right INTEGER)",
        )
        .execute(&mut conn)
        .unwrap();
        diesel::sql_query("INSERT INTO pairs VALUES (1, 0, 0)")
            .execute(&mut conn)
            .unwrap();
        let read = |conn: &mut SqliteConnection| {
            pairs::table
                .select((pairs::left, pairs::right))
                .first::<(i32, i32)>(conn)
                .unwrap()
        };
        for (value, expected) in [(1, (1, 0)), (2, (2, 0))] {
            diesel::update(pairs::table.filter(pairs::id.eq(1)))
                .set(pairs::left.eq(value))
                .prepared_once()
                .execute(&mut conn)
                .unwrap();
            assert_eq!(read(&mut conn), expected);
        }
        diesel::update(pairs::table.filter(pairs::id.eq(1)))
            .set(pairs::right.eq(7))
            .prepared_once()
            .execute(&mut conn)
            .unwrap();
        assert_eq!(read(&mut conn), (2, 7));
        let right: i32 = diesel::update(pairs::table.filter(pairs::id.eq(1)))
            .set(pairs::right.eq(pairs::right + 1))
            .returning(pairs::right)
            .prepared_once()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!((right, read(&mut conn)), (8, (2, 8)));
    }
}
