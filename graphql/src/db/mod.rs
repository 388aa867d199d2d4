//! The SQL read model: connection (SQLite file by default, PostgreSQL by URL) and migrations.

pub mod entities;
pub mod integration;
pub mod migration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

/// Connect to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and bring the schema up to date.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false).max_connections(if url.starts_with("sqlite") { 4 } else { 16 });
    // On every pooled connection, as it opens (a PRAGMA run once reaches one connection only): WAL lets
    // readers proceed while the indexer writes; busy_timeout rides out short write locks.
    opts.map_sqlx_sqlite_opts(|o| {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        o.journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5))
            .synchronous(SqliteSynchronous::Normal)
    });
    let db = Database::connect(opts).await?;
    migration::Migrator::up(&db, None).await?;
    Ok(db)
}
