//! A throw-away PostgreSQL server for tests: `SCF_TEST_PG_URL` if set (a server .ci/run started),
//! otherwise `initdb` + `pg_ctl` from the Debian packages on a free port in a temporary directory
//! (as the `postgres` user when the tests run as root, since postgres refuses to run as root).
//! Without either, the test prints why and skips.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

pub struct Postgres {
    base_url: String,
    stop: Option<(PathBuf, PathBuf)>,
}

fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Run a postgres tool, as the postgres user when we are root.
fn run(tool: &PathBuf, args: &[&str]) -> Result<(), String> {
    let out = if is_root() {
        Command::new("runuser").arg("-u").arg("postgres").arg("--").arg(tool).args(args).output()
    } else {
        Command::new(tool).args(args).output()
    }
    .map_err(|e| format!("{}: {e}", tool.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {:?}: {}{}",
            tool.display(),
            args,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Postgres {
    /// A server to test against, or `None` (with the reason printed) when none can be had.
    pub fn start() -> Option<Postgres> {
        if let Ok(url) = std::env::var("SCF_TEST_PG_URL") {
            return Some(Postgres { base_url: url.trim_end_matches('/').to_string(), stop: None });
        }
        let Some(bin) = bin_dir() else {
            eprintln!("SKIP: PostgreSQL test: no /usr/lib/postgresql/*/bin/initdb and no SCF_TEST_PG_URL");
            return None;
        };
        match Self::spawn(&bin) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("SKIP: PostgreSQL test: could not start a server: {e}");
                None
            }
        }
    }

    fn spawn(bin: &std::path::Path) -> Result<Postgres, String> {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let dir = std::env::temp_dir().join(format!("scf-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        if is_root() {
            let st = Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&dir)
                .status()
                .map_err(|e| e.to_string())?;
            if !st.success() {
                return Err("chown to postgres failed".into());
            }
        }
        let data = dir.join("data");
        let d = data.to_string_lossy().to_string();
        run(&bin.join("initdb"), &["-D", &d, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])?;
        let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", dir.display());
        let log = dir.join("log").to_string_lossy().to_string();
        run(&bin.join("pg_ctl"), &["-D", &d, "-o", &opts, "-l", &log, "-w", "-t", "60", "start"])?;
        Ok(Postgres {
            base_url: format!("postgres://postgres@127.0.0.1:{port}"),
            stop: Some((bin.join("pg_ctl"), data)),
        })
    }

    /// URL of a fresh database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        let admin = format!("{}/postgres", self.base_url);
        let rt = tokio::runtime::Handle::current();
        let name = name.to_string();
        let created = std::thread::spawn(move || {
            rt.block_on(async move {
                use sea_orm::ConnectionTrait;
                let db = sea_orm::Database::connect(admin).await?;
                db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}")).await?;
                db.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
                Ok::<_, sea_orm::DbErr>(name)
            })
        })
        .join();
        match created {
            Ok(Ok(name)) => format!("{}/{name}", self.base_url),
            other => panic!("create database: {other:?}"),
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some((pg_ctl, data)) = &self.stop {
            let d = data.to_string_lossy().to_string();
            let _ = run(pg_ctl, &["-D", &d, "-m", "immediate", "stop"]);
            if let Some(parent) = data.parent() {
                let _ = std::fs::remove_dir_all(parent);
            }
        }
    }
}
