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
    let db = Database::connect(opts).await?;
    if url.starts_with("sqlite") {
        // WAL lets readers proceed while the indexer writes; busy_timeout rides out short write locks.
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA synchronous=NORMAL;").await?;
    }
    migration::Migrator::up(&db, None).await?;
    Ok(db)
}
