//! Who may use the MQTT broker, and for what: a Mosquitto-format password file and ACL file.
//!
//! The embedded broker's guard ([`crate::guard`]) reads the very files that Mosquitto's `password_file` and
//! `acl_file` options read, so a member that moves from the embedded broker to Mosquitto (or back) keeps
//! its device credentials and rules:
//!
//! - **Password file**: one `username:hash` per line. Hashes are Mosquitto's: `$7$` (PBKDF2-HMAC-SHA512,
//!   what `mosquitto_passwd` 2.x writes and what [`hash_password`] writes) and `$6$` (SHA-512 of password
//!   and salt, written by `mosquitto_passwd` 1.x).
//! - **ACL file**: `user NAME`, then `topic [read|write|readwrite|deny] TOPIC` lines for that user;
//!   `pattern [read|write|readwrite|deny] TOPIC` lines for every user, where `%u` is the username and
//!   `%c` the client id. `#` starts a comment. Everything not granted is refused; `deny` wins over any
//!   grant. Topic lines before the first `user` line are for anonymous clients, which this broker never
//!   admits.
//!
//! [`DEFAULT_ACL`] is what a member needs: every device publishes to its own telemetry topic only (its
//! MQTT username is its device id), and nobody outside the member process reads telemetry.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha512};

/// The ACL a member uses unless it names its own file: devices publish only to
/// `scf/{org}/devices/{their username}/telemetry`; no client subscribes to anything.
pub const DEFAULT_ACL: &str = "\
# Devices: the MQTT username is the device id; each publishes only to its own telemetry topic.
pattern write scf/+/devices/%u/telemetry
# Add ingestion instances that run in other processes, for example:
# user scf-ingest-2
# topic read scf/+/devices/+/telemetry
";

/// PBKDF2 iterations of a new `$7$` hash (Mosquitto 2.x writes 101).
pub const PBKDF2_ITERATIONS: u32 = 101;
const SALT_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("{file}: {reason}")]
    Io { file: String, reason: String },
    #[error("{file} line {line}: {reason}")]
    Syntax { file: String, line: usize, reason: String },
    #[error("username {0:?}: must be 1–256 characters without ':', '+', '#', whitespace or control characters")]
    BadUsername(String),
    #[error("password: {0}")]
    BadPassword(String),
}

/// What a client asks to do with a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Publish to a topic name.
    Write,
    /// Subscribe to a topic filter (checked so that every topic the filter matches is readable).
    Read,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Read,
    Write,
    ReadWrite,
    Deny,
}

impl Grant {
    fn allows(self, want: Want) -> bool {
        matches!((self, want), (Grant::ReadWrite, _) | (Grant::Read, Want::Read) | (Grant::Write, Want::Write))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    grant: Grant,
    topic: String,
}

/// A parsed ACL file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    users: std::collections::HashMap<String, Vec<Rule>>,
    patterns: Vec<Rule>,
}

impl Acl {
    pub fn parse(text: &str, file: &str) -> Result<Acl, AccessError> {
        let mut acl = Acl::default();
        // None: before the first `user` line (anonymous clients, never admitted here).
        let mut user: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let err = |reason: String| AccessError::Syntax { file: file.to_string(), line: i + 1, reason };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim();
            match word {
                "user" => {
                    if rest.is_empty() {
                        return Err(err("`user` needs a username".into()));
                    }
                    user = Some(rest.to_string());
                    acl.users.entry(rest.to_string()).or_default();
                }
                "topic" | "pattern" => {
                    let (grant, topic) = match rest.split_once(char::is_whitespace) {
                        Some(("read", t)) => (Grant::Read, t.trim()),
                        Some(("write", t)) => (Grant::Write, t.trim()),
                        Some(("readwrite", t)) => (Grant::ReadWrite, t.trim()),
                        Some(("deny", t)) => (Grant::Deny, t.trim()),
                        _ => (Grant::ReadWrite, rest),
                    };
                    if topic.is_empty() {
                        return Err(err(format!("`{word}` needs a topic")));
                    }
                    check_filter(topic).map_err(|r| err(format!("topic {topic:?}: {r}")))?;
                    let rule = Rule { grant, topic: topic.to_string() };
                    if word == "pattern" {
                        acl.patterns.push(rule);
                    } else if let Some(u) = &user {
                        acl.users.entry(u.clone()).or_default().push(rule);
                    }
                }
                other => return Err(err(format!("unknown keyword {other:?} (expected user, topic or pattern)"))),
            }
        }
        Ok(acl)
    }

    /// May `username` (connected as `client_id`) publish to `topic` (`Want::Write`) or subscribe to the
    /// filter `topic` (`Want::Read`, `$share/GROUP/` already stripped)?
    pub fn allows(&self, username: &str, client_id: &str, want: Want, topic: &str) -> bool {
        self.for_client(username, client_id).allows(want, topic)
    }

    /// The rules that apply to one connection: the user's own and the patterns with `%u` and `%c`
    /// substituted, resolved once when it connects rather than for each of its packets.
    pub fn for_client(&self, username: &str, client_id: &str) -> ClientAcl {
        let user_rules = self.users.get(username).map(Vec::as_slice).unwrap_or(&[]);
        // Mosquitto refuses pattern substitution for names that are themselves wildcards.
        let substitutable = !username.contains(['+', '#']) && !client_id.contains(['+', '#']);
        let patterns = self
            .patterns
            .iter()
            .filter(|_| substitutable)
            .map(|r| Rule { grant: r.grant, topic: r.topic.replace("%u", username).replace("%c", client_id) });
        ClientAcl { rules: user_rules.iter().cloned().chain(patterns).collect() }
    }
}

/// The ACL rules of one connected client ([`Acl::for_client`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAcl {
    rules: Vec<Rule>,
}

impl ClientAcl {
    /// May this client publish to `topic` (`Want::Write`) or subscribe to the filter `topic`
    /// (`Want::Read`, `$share/GROUP/` already stripped)?
    pub fn allows(&self, want: Want, topic: &str) -> bool {
        // A deny rule refuses anything it touches: for a subscription, any overlap.
        let denied = self.rules.iter().filter(|r| r.grant == Grant::Deny).any(|r| match want {
            Want::Write => topic_matches(&r.topic, topic),
            Want::Read => filters_overlap(&r.topic, topic),
        });
        !denied
            && self.rules.iter().any(|r| {
                r.grant.allows(want)
                    && match want {
                        Want::Write => topic_matches(&r.topic, topic),
                        Want::Read => filter_covers(&r.topic, topic),
                    }
            })
    }
}

/// Is `s` a valid MQTT topic filter (wildcards whole levels only, `#` last)?
pub fn check_filter(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    if s.contains('\0') {
        return Err("contains NUL");
    }
    let levels: Vec<&str> = s.split('/').collect();
    for (i, l) in levels.iter().enumerate() {
        if l.contains('#') && (*l != "#" || i + 1 != levels.len()) {
            return Err("'#' must be a whole last level");
        }
        if l.contains('+') && *l != "+" {
            return Err("'+' must be a whole level");
        }
    }
    Ok(())
}

/// Does the topic name `topic` match the filter `filter` (MQTT 3.1.1 §4.7; `$` topics are not matched
/// by a leading wildcard)?
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.contains(['+', '#']) {
        return false;
    }
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Does the ACL filter `acl` match every topic that the subscription filter `sub` matches?
pub fn filter_covers(acl: &str, sub: &str) -> bool {
    // Wildcards at the first level do not match `$` topics (MQTT 3.1.1 §4.7.2).
    if sub.starts_with('$') && acl.starts_with(['+', '#']) {
        return false;
    }
    let mut a = acl.split('/');
    let mut s = sub.split('/');
    loop {
        match (a.next(), s.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(l)) if l != "#" => {}
            (Some(x), Some(y)) if x == y && x != "+" && x != "#" => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Could some topic match both filters?
fn filters_overlap(a: &str, b: &str) -> bool {
    let mut x = a.split('/');
    let mut y = b.split('/');
    loop {
        match (x.next(), y.next()) {
            (Some("#"), _) | (_, Some("#")) => return true,
            (Some("+"), Some(_)) | (Some(_), Some("+")) => {}
            (Some(p), Some(q)) if p == q => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// A username that both this broker and Mosquitto's password file can hold.
pub fn check_username(u: &str) -> Result<(), AccessError> {
    let ok = !u.is_empty()
        && u.chars().count() <= 256
        && !u.chars().any(|c| c == ':' || c == '+' || c == '#' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(AccessError::BadUsername(u.to_string()))
    }
}

/// A Mosquitto `$7$` hash of `password`: PBKDF2-HMAC-SHA512, [`PBKDF2_ITERATIONS`], 12-byte random salt.
pub fn hash_password(password: &str) -> Result<String, AccessError> {
    if password.is_empty() {
        return Err(AccessError::BadPassword("must not be empty".into()));
    }
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| AccessError::BadPassword(format!("no randomness for the salt: {e}")))?;
    let mut out = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), &salt, PBKDF2_ITERATIONS, &mut out);
    Ok(format!("$7${PBKDF2_ITERATIONS}${}${}", B64.encode(salt), B64.encode(out)))
}

/// A fresh random password: 24 characters from an unambiguous alphabet (about 137 bits).
pub fn generate_password() -> Result<String, AccessError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw).map_err(|e| AccessError::BadPassword(format!("no randomness: {e}")))?;
    Ok(raw.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect())
}

/// Does `password` match the Mosquitto hash `stored`? Unknown formats never match.
pub fn verify_password(stored: &str, password: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    match parts.as_slice() {
        ["", "7", iterations, salt, hash] => {
            let (Ok(iterations), Ok(salt), Ok(hash)) = (iterations.parse::<u32>(), B64.decode(salt), B64.decode(hash))
            else {
                return false;
            };
            if iterations == 0 || iterations > 1_000_000 || hash.is_empty() || hash.len() > 64 {
                return false;
            }
            let mut out = vec![0u8; hash.len()];
            pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), &salt, iterations, &mut out);
            constant_time_eq(&out, &hash)
        }
        ["", "6", salt, hash] => {
            let (Ok(salt), Ok(hash)) = (B64.decode(salt), B64.decode(hash)) else { return false };
            let mut h = Sha512::new();
            h.update(password.as_bytes());
            h.update(&salt);
            constant_time_eq(&h.finalize(), &hash)
        }
        _ => false,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A parsed password file: username → stored hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passwords(std::collections::HashMap<String, String>);

impl Passwords {
    pub fn parse(text: &str, file: &str) -> Result<Passwords, AccessError> {
        let mut users = std::collections::HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: String| AccessError::Syntax { file: file.to_string(), line: i + 1, reason };
            let (user, hash) = line.split_once(':').ok_or_else(|| err("expected username:hash".into()))?;
            check_username(user).map_err(|e| err(e.to_string()))?;
            if !(hash.starts_with("$7$") || hash.starts_with("$6$")) {
                return Err(err(format!("user {user:?}: the hash is not Mosquitto's $7$ or $6$ format")));
            }
            users.insert(user.to_string(), hash.to_string());
        }
        Ok(Passwords(users))
    }

    pub fn check(&self, username: &str, password: &str) -> bool {
        self.0.get(username).is_some_and(|h| verify_password(h, password))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Add `username` to the password file at `path` with `password`, or replace its hash; the file is
/// created with mode 0600 and rewritten atomically (temp file, fsync, rename).
pub fn set_password(path: &Path, username: &str, password: &str) -> Result<(), AccessError> {
    check_username(username)?;
    let file = path.display().to_string();
    let io = |e: std::io::Error| AccessError::Io { file: file.clone(), reason: e.to_string() };
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    Passwords::parse(&old, &file)?;
    let hash = hash_password(password)?;
    let mut out = String::new();
    let mut replaced = false;
    for line in old.lines() {
        if line.split_once(':').map(|(u, _)| u) == Some(username) {
            out.push_str(&format!("{username}:{hash}\n"));
            replaced = true;
        } else if !line.trim().is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !replaced {
        out.push_str(&format!("{username}:{hash}\n"));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    std::io::Write::write_all(&mut tmp, out.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// The broker's password and ACL files, re-read when they change on disk (checked at each connection),
/// so adding a device needs no restart. A file that stops parsing keeps the last good version and logs.
pub struct Access {
    passwd: Watched<Passwords>,
    acl: Watched<Acl>,
}

struct Watched<T> {
    path: Option<PathBuf>,
    state: Mutex<(Option<SystemTime>, Arc<T>)>,
    parse: fn(&str, &str) -> Result<T, AccessError>,
}

impl<T> Watched<T> {
    fn load(
        path: Option<PathBuf>,
        fallback: &str,
        parse: fn(&str, &str) -> Result<T, AccessError>,
    ) -> Result<Self, AccessError> {
        let (mtime, value) = match &path {
            Some(p) => {
                let (m, t) = read_with_mtime(p)?;
                (m, parse(&t, &p.display().to_string())?)
            }
            None => (None, parse(fallback, "built-in ACL")?),
        };
        Ok(Watched { path, state: Mutex::new((mtime, Arc::new(value))), parse })
    }

    fn current(&self) -> Arc<T> {
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(p) = &self.path {
            let mtime = std::fs::metadata(p).and_then(|m| m.modified()).ok();
            if mtime.is_some() && mtime != state.0 {
                match read_with_mtime(p).and_then(|(m, t)| Ok((m, (self.parse)(&t, &p.display().to_string())?))) {
                    Ok((m, v)) => {
                        tracing::info!(file = %p.display(), "MQTT access file reloaded");
                        *state = (m, Arc::new(v));
                    }
                    Err(e) => {
                        tracing::warn!("MQTT access file not reloaded, the previous version stays in force: {e}");
                        state.0 = mtime;
                    }
                }
            }
        }
        Arc::clone(&state.1)
    }
}

fn read_with_mtime(p: &Path) -> Result<(Option<SystemTime>, String), AccessError> {
    let io = |e: std::io::Error| AccessError::Io { file: p.display().to_string(), reason: e.to_string() };
    let mtime = std::fs::metadata(p).and_then(|m| m.modified()).map_err(io)?;
    Ok((Some(mtime), std::fs::read_to_string(p).map_err(io)?))
}

impl Access {
    /// The password file (required) and the ACL file ([`DEFAULT_ACL`] when `None`).
    pub fn load(passwd: &Path, acl: Option<&Path>) -> Result<Access, AccessError> {
        Ok(Access {
            passwd: Watched::load(Some(passwd.to_path_buf()), "", Passwords::parse)?,
            acl: Watched::load(acl.map(Path::to_path_buf), DEFAULT_ACL, Acl::parse)?,
        })
    }

    /// Fixed users and ACL text, for tests and in-process simulations.
    pub fn fixed(passwords: Passwords, acl: &str) -> Result<Access, AccessError> {
        Ok(Access {
            passwd: Watched { path: None, state: Mutex::new((None, Arc::new(passwords))), parse: Passwords::parse },
            acl: Watched::load(None, acl, Acl::parse)?,
        })
    }

    pub fn passwords(&self) -> Arc<Passwords> {
        self.passwd.current()
    }

    pub fn acl(&self) -> Arc<Acl> {
        self.acl.current()
    }
}

impl Passwords {
    /// Users with the given plain passwords (hashed here).
    pub fn from_plain<'a>(users: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Passwords, AccessError> {
        let mut map = std::collections::HashMap::new();
        for (u, p) in users {
            check_username(u)?;
            map.insert(u.to_string(), hash_password(p)?);
        }
        Ok(Passwords(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_matching_follows_mqtt() {
        assert!(topic_matches("scf/+/devices/T-1/telemetry", "scf/WH/devices/T-1/telemetry"));
        assert!(!topic_matches("scf/+/devices/T-1/telemetry", "scf/WH/devices/T-2/telemetry"));
        assert!(!topic_matches("scf/+/devices/T-1/telemetry", "scf/WH/devices/T-1/telemetry/x"));
        assert!(topic_matches("scf/#", "scf"));
        assert!(topic_matches("#", "a/b"));
        assert!(!topic_matches("#", "$SYS/x"));
        assert!(!topic_matches("a/+", "a/+"), "a topic name with a wildcard is not a topic");
    }

    #[test]
    fn subscription_filters_must_be_covered() {
        let f = "scf/+/devices/+/telemetry";
        assert!(filter_covers(f, f));
        assert!(filter_covers(f, "scf/WH/devices/T-1/telemetry"));
        assert!(!filter_covers(f, "scf/#"));
        assert!(!filter_covers(f, "#"));
        assert!(!filter_covers("scf/WH/devices/+/telemetry", f));
        assert!(filter_covers("scf/#", f));
        assert!(!filter_covers("scf/+", "scf/#"));
    }

    #[test]
    fn the_default_acl_lets_a_device_publish_to_its_own_topic_only() {
        let acl = Acl::parse(DEFAULT_ACL, "default").expect("parse");
        assert!(acl.allows("T-1", "c", Want::Write, "scf/WH/devices/T-1/telemetry"));
        assert!(!acl.allows("T-1", "c", Want::Write, "scf/WH/devices/T-2/telemetry"));
        assert!(!acl.allows("T-1", "c", Want::Read, "scf/WH/devices/T-1/telemetry"));
        assert!(!acl.allows("T-1", "c", Want::Read, "scf/+/devices/+/telemetry"));
        assert!(!acl.allows("+", "c", Want::Write, "scf/WH/devices/+/telemetry"));
        assert!(!acl.allows("#", "c", Want::Write, "scf/WH/devices/x/telemetry"));
    }

    #[test]
    fn user_rules_and_deny() {
        let acl = Acl::parse(
            "topic read anon/#\nuser ingest\ntopic read scf/+/devices/+/telemetry\ntopic deny scf/SECRET/#\n",
            "t",
        )
        .expect("parse");
        assert!(acl.allows("ingest", "i", Want::Read, "scf/WH/devices/+/telemetry"));
        assert!(!acl.allows("ingest", "i", Want::Read, "scf/SECRET/devices/+/telemetry"));
        // A filter that could match a denied topic is refused whole: the guard does not filter deliveries.
        assert!(!acl.allows("ingest", "i", Want::Read, "scf/+/devices/+/telemetry"));
        let open = Acl::parse("user ingest\ntopic read scf/+/devices/+/telemetry\n", "t").expect("parse");
        assert!(open.allows("ingest", "i", Want::Read, "scf/+/devices/+/telemetry"));
        assert!(!acl.allows("ingest", "i", Want::Read, "scf/#"));
        assert!(!acl.allows("ingest", "i", Want::Write, "scf/WH/devices/T/telemetry"));
        assert!(!acl.allows("other", "i", Want::Read, "anon/x"), "anonymous rules grant no user anything");
        assert!(
            Acl::parse("topic sideways x", "t").is_ok(),
            "an unknown access word is part of the topic, as in Mosquitto"
        );
        assert!(matches!(Acl::parse("topic read a/#/b", "t"), Err(AccessError::Syntax { line: 1, .. })));
        assert!(matches!(Acl::parse("\nallow x", "t"), Err(AccessError::Syntax { line: 2, .. })));
    }

    #[test]
    fn hashes_round_trip_and_refuse_wrong_passwords() {
        let h = hash_password("s3cret").expect("hash");
        assert!(h.starts_with("$7$101$"));
        assert!(verify_password(&h, "s3cret"));
        assert!(!verify_password(&h, "s3cret "));
        assert!(!verify_password("plain", "plain"));
        assert!(!verify_password("$7$0$AAAA$AAAA", ""));
    }

    #[test]
    fn password_file_edits_keep_other_users() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("mqtt").join("passwd");
        set_password(&p, "T-1", "one").expect("add");
        set_password(&p, "T-2", "two").expect("add");
        set_password(&p, "T-1", "uno").expect("replace");
        let users = Passwords::parse(&std::fs::read_to_string(&p).expect("read"), "p").expect("parse");
        assert_eq!(users.len(), 2);
        assert!(users.check("T-1", "uno") && !users.check("T-1", "one") && users.check("T-2", "two"));
        assert!(matches!(set_password(&p, "a:b", "x"), Err(AccessError::BadUsername(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    /// Files written by Mosquitto's own tool verify here.
    #[test]
    fn mosquitto_passwd_hashes_verify() {
        // Debian's mosquitto package, which .ci/setup installs.
        let tool = Path::new("/usr/bin/mosquitto_passwd");
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("passwd");
        let st = std::process::Command::new(tool)
            .args(["-c", "-b"])
            .arg(&p)
            .args(["dev-7", "pa55 word"])
            .status()
            .expect("run mosquitto_passwd");
        assert!(st.success());
        let users = Passwords::parse(&std::fs::read_to_string(&p).expect("read"), "p").expect("parse");
        assert!(users.check("dev-7", "pa55 word"));
        assert!(!users.check("dev-7", "pa55word"));
    }
}
