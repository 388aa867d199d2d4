//! Writing key files: created only if absent (O_EXCL), secrets owner-only (0600) and synced.

use std::io::Write;
use std::path::Path;

/// Create `path`, which must not exist yet; with `secret`, mode 0600. Errors name the path.
pub fn write_new(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = secret;
    let named = |e: std::io::Error| anyhow::anyhow!("{}: {e}", path.display());
    let mut f = opts.open(path).map_err(named)?;
    f.write_all(bytes).map_err(named)?;
    f.sync_all().map_err(named)
}
