//! The SQL read model: connection (SQLite file by default, PostgreSQL by URL) and migrations.

pub mod entities;
pub mod integration;
pub mod migration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

/// How much of a SQLite read model each connection maps into memory.
const SQLITE_MMAP_BYTES: u64 = 1 << 30;
/// SQLite's page cache per connection, in KiB.
const SQLITE_CACHE_KIB: u64 = 32 * 1024;

/// Connect to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and bring the schema up to date.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false).max_connections(if url.starts_with("sqlite") { 4 } else { 16 });
    // On every pooled connection, as it opens (a PRAGMA run once reaches one connection only): WAL lets
    // readers proceed while the indexer writes; busy_timeout rides out short write locks. Reads go
    // through a memory map of the file (no read() system call and copy per page) and a 32 MiB page
    // cache per connection instead of SQLite's 2 MiB default.
    opts.map_sqlx_sqlite_opts(|o| {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        o.journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5))
            .synchronous(SqliteSynchronous::Normal)
            .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
            .pragma("cache_size", format!("-{}", SQLITE_CACHE_KIB))
    });
    let db = Database::connect(opts).await?;
    migration::Migrator::up(&db, None).await?;
    Ok(db)
}
