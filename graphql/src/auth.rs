//! Users, sessions and custodial keys.
//!
//! - Passwords: argon2id hashes (PHC strings), computed on the blocking pool (never on the async
//!   workers). A wrong username and a wrong password give the same error *and take the same time* (an
//!   unknown name is checked against a dummy hash). Failed sign-ins are throttled per account and per
//!   client address ([`LoginThrottle`]).
//! - A user made with a one-time password (an organisation's first admin) must change it before doing
//!   anything else; a disabled user cannot sign in and their sessions are gone.
//! - Sessions: an opaque 32-byte random token goes to the client; only its SM3 hash is stored, so a
//!   copy of the table cannot be replayed.
//! - Custodial keys: each user gets an SM2 key, sealed with SM4-GCM under the node key with the user id
//!   as associated data (a sealed key moved to another user row does not open). The key is opened only
//!   to sign, and never logged.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use scf_ledger::crypto::{decrypt_at_rest, encrypt_at_rest, random_bytes, sm3, KeyPair};
use sea_orm::sea_query::Query as SqlQuery;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::db::entities::{session, user};
use crate::error::{ApiError, ApiResult};

/// What a user may do within their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum UserRole {
    /// Manages the organisation's users and may do everything an operator may.
    Admin,
    /// Submits business transactions for the organisation.
    Operator,
    /// Reads only.
    Viewer,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::Operator => "operator",
            UserRole::Viewer => "viewer",
        }
    }
    pub fn parse(s: &str) -> Option<UserRole> {
        match s {
            "admin" => Some(UserRole::Admin),
            "operator" => Some(UserRole::Operator),
            "viewer" => Some(UserRole::Viewer),
            _ => None,
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub org_id: String,
    pub username: String,
    pub role: UserRole,
    /// The custodial key's account (checked against the chain on every request).
    pub address: String,
    /// Signed in with a one-time password: only `changePassword` (and `me`, `logout`) are allowed.
    pub must_change_password: bool,
}

/// How long a session lasts.
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

/// Wall-clock milliseconds as SQL stores them (the one clock is `scf_client::now_ms`).
pub fn now_ms() -> i64 {
    i64::try_from(scf_client::now_ms()).unwrap_or(i64::MAX)
}

fn random_hex<const N: usize>() -> ApiResult<String> {
    Ok(hex::encode(random_bytes::<N>().map_err(|e| ApiError::internal("random", e))?))
}

pub fn hash_password(password: &str) -> ApiResult<String> {
    let salt_bytes = random_bytes::<16>().map_err(|e| ApiError::internal("random", e))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| ApiError::internal("salt", e))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal("argon2", e))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash no password matches, checked for unknown usernames so they cost the same time as known ones.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password of any user").unwrap_or_default())
}

/// Argon2 is deliberately slow: run it on the blocking pool so sign-ins never stall other requests.
async fn verify_blocking(password: String, phc: Option<String>) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_password(&password, &phc),
        None => {
            let _ = verify_password(&password, dummy_hash());
            false
        }
    })
    .await
    .map_err(|e| ApiError::internal("password check", e))
}

async fn hash_blocking(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|e| ApiError::internal("hash", e))?
}

/// Failures allowed before sign-ins are slowed down, per account and per client address.
const FREE_FAILURES_PER_ACCOUNT: u32 = 5;
const FREE_FAILURES_PER_ADDRESS: u32 = 20;
/// The longest wait a run of failures can impose.
const MAX_BACKOFF_MS: u64 = 15 * 60 * 1000;
/// Entries kept per map before the oldest are dropped (bounds memory under many names or addresses).
const MAX_TRACKED: usize = 20_000;

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last_ms: u64,
}

/// Throttling of failed sign-ins: after a few failures for an account (or from an address), each further
/// attempt must wait twice as long as the last (1 s, 2 s, 4 s … up to 15 minutes); a success clears the
/// account's record. Waiting is refused with `RATE_LIMITED` and the time left, before any password is
/// checked, so a flood costs the server nothing. It slows guessing without letting anyone lock a user
/// out for long, and both maps are bounded.
#[derive(Default)]
pub struct LoginThrottle {
    accounts: std::sync::Mutex<std::collections::HashMap<String, Failures>>,
    addresses: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, Failures>>,
}

fn wait_left(f: Option<&Failures>, free: u32, now: u64) -> u64 {
    let Some(f) = f.filter(|f| f.count >= free) else { return 0 };
    let backoff = 1000u64.saturating_mul(1 << (f.count - free).min(20)).min(MAX_BACKOFF_MS);
    (f.last_ms + backoff).saturating_sub(now)
}

fn note_failure<K: std::hash::Hash + Eq + Clone>(
    map: &std::sync::Mutex<std::collections::HashMap<K, Failures>>,
    key: K,
    now: u64,
) {
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    if m.len() >= MAX_TRACKED && !m.contains_key(&key) {
        // Forget the records whose backoff ran out long ago.
        m.retain(|_, f| now.saturating_sub(f.last_ms) < MAX_BACKOFF_MS);
        if m.len() >= MAX_TRACKED {
            if let Some(oldest) = m.iter().min_by_key(|(_, f)| f.last_ms).map(|(k, _)| k.clone()) {
                m.remove(&oldest);
            }
        }
    }
    let f = m.entry(key).or_insert(Failures { count: 0, last_ms: now });
    f.count = f.count.saturating_add(1);
    f.last_ms = now;
}

impl LoginThrottle {
    /// `Err(RATE_LIMITED)` while the account or the address must wait.
    pub fn check(&self, username: &str, addr: Option<std::net::IpAddr>) -> ApiResult<()> {
        let now = now_ms() as u64;
        let account = {
            let m = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
            wait_left(m.get(username), FREE_FAILURES_PER_ACCOUNT, now)
        };
        let address = match addr {
            Some(ip) => {
                let m = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
                wait_left(m.get(&ip), FREE_FAILURES_PER_ADDRESS, now)
            }
            None => 0,
        };
        match account.max(address) {
            0 => Ok(()),
            retry_after_ms => Err(ApiError::RateLimited { retry_after_ms }),
        }
    }

    pub fn failed(&self, username: &str, addr: Option<std::net::IpAddr>) {
        let now = now_ms() as u64;
        note_failure(&self.accounts, username.to_string(), now);
        if let Some(ip) = addr {
            note_failure(&self.addresses, ip, now);
        }
    }

    pub fn succeeded(&self, username: &str) {
        self.accounts.lock().unwrap_or_else(|p| p.into_inner()).remove(username);
    }

    /// Entries held (for tests of the bound).
    pub fn tracked(&self) -> (usize, usize) {
        (self.accounts.lock().map(|m| m.len()).unwrap_or(0), self.addresses.lock().map(|m| m.len()).unwrap_or(0))
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(sm3(token.as_bytes()))
}

/// A new user with a fresh custodial key (not yet an account on chain: see `createUser`).
pub struct NewUser {
    pub org_id: String,
    pub username: String,
    pub password: String,
    pub role: UserRole,
}

/// A random one-time password (22 characters of base62: about 130 bits).
pub fn one_time_password() -> ApiResult<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let bytes = random_bytes::<22>().map_err(|e| ApiError::internal("random", e))?;
    Ok(bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect())
}

pub fn validate_new_user(n: &NewUser) -> ApiResult<()> {
    let uname = n.username.trim();
    if uname.is_empty() || uname.chars().count() > 64 {
        return Err(ApiError::bad_input("username", "must be 1..=64 characters"));
    }
    if !uname.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c)) {
        return Err(ApiError::bad_input("username", "letters, digits and . _ - @ only"));
    }
    if n.password.chars().count() < 8 || n.password.len() > 256 {
        return Err(ApiError::bad_input("password", "must be 8..=256 characters"));
    }
    Ok(())
}

/// Create the user row (with sealed key). Returns the row and the key (for the caller to register it on
/// chain). Username uniqueness is a CONFLICT.
pub async fn insert_user(
    db: &DatabaseConnection,
    node_key: &[u8; 16],
    n: &NewUser,
    key: &KeyPair,
) -> ApiResult<user::Model> {
    validate_new_user(n)?;
    if user::Entity::find().filter(user::Column::Username.eq(n.username.trim())).one(db).await?.is_some() {
        return Err(ApiError::Conflict { rule: None, message: format!("username: {:?} is taken", n.username.trim()) });
    }
    let id = random_hex::<16>()?;
    let sealed =
        encrypt_at_rest(node_key, id.as_bytes(), &key.secret_bytes()).map_err(|e| ApiError::internal("seal", e))?;
    let row = user::Model {
        id: id.clone(),
        org_id: n.org_id.clone(),
        username: n.username.trim().to_string(),
        password_hash: hash_blocking(n.password.clone()).await?,
        role: n.role.as_str().into(),
        public_key: key.public().to_hex(),
        address: key.address().to_hex(),
        sealed_key: hex::encode(sealed),
        created_ms: now_ms(),
        must_change_password: false,
        disabled_ms: None,
    };
    user::Entity::insert(user::ActiveModel::from(row.clone())).exec(db).await?;
    Ok(row)
}

/// Open a user's custodial key (only to sign on their behalf).
pub fn open_key(node_key: &[u8; 16], row: &user::Model) -> ApiResult<KeyPair> {
    let sealed = hex::decode(&row.sealed_key).map_err(|e| ApiError::internal("sealed key", e))?;
    let secret = decrypt_at_rest(node_key, row.id.as_bytes(), &sealed).map_err(|e| ApiError::internal("unseal", e))?;
    KeyPair::from_secret_bytes(&secret).map_err(|e| ApiError::internal("custodial key", e))
}

fn to_auth(row: &user::Model) -> ApiResult<AuthUser> {
    Ok(AuthUser {
        id: row.id.clone(),
        org_id: row.org_id.clone(),
        username: row.username.clone(),
        role: UserRole::parse(&row.role).ok_or_else(|| ApiError::internal("user role", &row.role))?,
        address: row.address.clone(),
        must_change_password: row.must_change_password,
    })
}

/// Check credentials and open a session; returns the token (shown once) and the user. Throttled per
/// account and client address; an unknown user, a wrong password and a disabled user give the same
/// error after the same work.
pub async fn login(
    db: &DatabaseConnection,
    throttle: &LoginThrottle,
    addr: Option<std::net::IpAddr>,
    username: &str,
    password: &str,
) -> ApiResult<(String, AuthUser)> {
    let username = username.trim();
    throttle.check(username, addr)?;
    let row = user::Entity::find().filter(user::Column::Username.eq(username)).one(db).await?;
    let ok = verify_blocking(password.to_string(), row.as_ref().map(|r| r.password_hash.clone())).await?;
    let Some(row) = row.filter(|r| ok && r.disabled_ms.is_none()) else {
        throttle.failed(username, addr);
        return Err(ApiError::Unauthenticated);
    };
    throttle.succeeded(username);
    let token = random_hex::<32>()?;
    session::Entity::insert(session::ActiveModel {
        token_hash: Set(token_hash(&token)),
        user_id: Set(row.id.clone()),
        expires_ms: Set(now_ms() + SESSION_TTL_MS),
    })
    .exec(db)
    .await?;
    Ok((token, to_auth(&row)?))
}

pub async fn logout(db: &DatabaseConnection, cache: &SessionCache, token: &str) -> ApiResult<bool> {
    let r = session::Entity::delete_by_id(token_hash(token)).exec(db).await?;
    cache.clear();
    Ok(r.rows_affected > 0)
}

/// Sessions this process resolved in the last [`SESSION_CACHE_TTL`], so a signed-in client's every
/// request does not cost a database round trip. Logging out, changing a password and disabling a user
/// go through this module and empty it at once; the TTL bounds how long a change made by another
/// process sharing the database (or a session's own expiry) takes to be seen. Only tokens that
/// resolved are kept, so unknown tokens cannot fill it, and it is emptied when full.
#[derive(Default)]
pub struct SessionCache {
    inner: std::sync::Mutex<SessionCacheInner>,
}

#[derive(Default)]
struct SessionCacheInner {
    /// Bumped at every emptying: an answer read from the database before it is not kept.
    generation: u64,
    map: std::collections::HashMap<String, (AuthUser, std::time::Instant)>,
}

/// How long a resolved session is trusted without asking the database again.
pub const SESSION_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);
/// At most this many cached sessions.
const SESSION_CACHE_CAP: usize = 10_000;

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, SessionCacheInner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, hash: &str) -> Result<AuthUser, u64> {
        let inner = self.lock();
        match inner.map.get(hash) {
            Some((user, at)) if at.elapsed() < SESSION_CACHE_TTL => Ok(user.clone()),
            _ => Err(inner.generation),
        }
    }

    fn put(&self, generation: u64, hash: String, user: AuthUser) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.map.len() >= SESSION_CACHE_CAP {
            inner.map.clear();
        }
        inner.map.insert(hash, (user, std::time::Instant::now()));
    }

    /// Forget every session (a logout, a password change, a disabled user).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.map.clear();
    }
}

/// Resolve a bearer token to its user (`None` if unknown or expired).
pub async fn authenticate(db: &DatabaseConnection, cache: &SessionCache, token: &str) -> ApiResult<Option<AuthUser>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let hash = token_hash(token);
    let generation = match cache.get(&hash) {
        Ok(user) => return Ok(Some(user)),
        Err(generation) => generation,
    };
    // One statement: the user of an unexpired session with this token, if not disabled.
    let live = SqlQuery::select()
        .column(session::Column::UserId)
        .from(session::Entity)
        .and_where(session::Column::TokenHash.eq(hash.clone()))
        .and_where(session::Column::ExpiresMs.gte(now_ms()))
        .to_owned();
    let row = user::Entity::find()
        .filter(user::Column::Id.in_subquery(live))
        .filter(user::Column::DisabledMs.is_null())
        .one(db)
        .await?;
    let user = row.as_ref().map(to_auth).transpose()?;
    if let Some(u) = &user {
        cache.put(generation, hash, u.clone());
    }
    Ok(user)
}

/// Change a user's password (the old one must be right); clears a one-time password's mark and ends
/// every other session of the user.
pub async fn change_password(
    api: &crate::service::Api,
    addr: Option<std::net::IpAddr>,
    user: &AuthUser,
    current_token: &str,
    old: &str,
    new: &str,
) -> ApiResult<()> {
    let (db, cache, throttle) = (&api.db, &api.sessions, &api.logins);
    throttle.check(&user.username, addr)?;
    let row = user_row(db, &user.id).await?;
    if !verify_blocking(old.to_string(), Some(row.password_hash.clone())).await? {
        throttle.failed(&user.username, addr);
        return Err(ApiError::bad_input("oldPassword", "is not the current password"));
    }
    if new.chars().count() < 8 || new.len() > 256 {
        return Err(ApiError::bad_input("newPassword", "must be 8..=256 characters"));
    }
    if new == old {
        return Err(ApiError::bad_input("newPassword", "must differ from the current password"));
    }
    let hash = hash_blocking(new.to_string()).await?;
    user::Entity::update(user::ActiveModel {
        id: Set(row.id.clone()),
        password_hash: Set(hash),
        must_change_password: Set(false),
        ..Default::default()
    })
    .exec(db)
    .await?;
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(row.id))
        .filter(session::Column::TokenHash.ne(token_hash(current_token)))
        .exec(db)
        .await?;
    cache.clear();
    Ok(())
}

/// Disable a user: it can no longer sign in and every session it has ends at once. (Removing its
/// account on chain is the caller's next step.)
pub async fn disable_user(db: &DatabaseConnection, cache: &SessionCache, id: &str) -> ApiResult<()> {
    user::Entity::update(user::ActiveModel {
        id: Set(id.to_string()),
        disabled_ms: Set(Some(now_ms())),
        ..Default::default()
    })
    .exec(db)
    .await?;
    session::Entity::delete_many().filter(session::Column::UserId.eq(id)).exec(db).await?;
    cache.clear();
    Ok(())
}

/// Delete sessions past their expiry (a periodic chore).
pub async fn purge_expired_sessions(db: &DatabaseConnection) -> ApiResult<u64> {
    Ok(session::Entity::delete_many().filter(session::Column::ExpiresMs.lt(now_ms())).exec(db).await?.rows_affected)
}

/// An organisation's first admin, made with the organisation's own on-chain key (so it can sign from
/// the first minute, and register further users) and a one-time password, returned to be handed over.
pub async fn bootstrap_admin(
    db: &DatabaseConnection,
    node_key: &[u8; 16],
    org_id: &str,
    username: &str,
    org_key: &KeyPair,
) -> ApiResult<(user::Model, String)> {
    let password = one_time_password()?;
    let new = NewUser {
        org_id: org_id.to_string(),
        username: username.to_string(),
        password: password.clone(),
        role: UserRole::Admin,
    };
    let mut row = insert_user(db, node_key, &new, org_key).await?;
    user::Entity::update(user::ActiveModel {
        id: Set(row.id.clone()),
        must_change_password: Set(true),
        ..Default::default()
    })
    .exec(db)
    .await?;
    row.must_change_password = true;
    Ok((row, password))
}

pub async fn user_row(db: &DatabaseConnection, id: &str) -> ApiResult<user::Model> {
    user::Entity::find_by_id(id.to_string()).one(db).await?.ok_or_else(|| ApiError::not_found("user"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_resolves_only_while_its_session_is_live_and_its_user_enabled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("rm.sqlite").display());
        let db = crate::db::connect(&url).await.expect("db");
        let new = NewUser {
            org_id: "ORG".into(),
            username: "li.na".into(),
            password: "long enough pw".into(),
            role: UserRole::Operator,
        };
        let row = insert_user(&db, &[1; 16], &new, &KeyPair::from_seed("auth-test")).await.expect("user");
        let throttle = LoginThrottle::default();
        let cache = SessionCache::default();
        let (token, _) = login(&db, &throttle, None, "li.na", "long enough pw").await.expect("login");

        let me = authenticate(&db, &cache, &token).await.expect("authenticate").expect("a live session");
        assert_eq!((me.id.as_str(), me.org_id.as_str(), me.role), (row.id.as_str(), "ORG", UserRole::Operator));
        let other = "0".repeat(64);
        assert!(authenticate(&db, &cache, &other).await.expect("authenticate").is_none(), "an unknown token");
        assert!(authenticate(&db, &cache, "short").await.expect("authenticate").is_none(), "a malformed token");

        // Expired: the same token one millisecond past its session's end.
        session::Entity::update(session::ActiveModel {
            token_hash: Set(token_hash(&token)),
            expires_ms: Set(now_ms() - 1),
            ..Default::default()
        })
        .exec(&db)
        .await
        .expect("expire");
        // (This process resolved it a moment ago: trusted for at most the cache's TTL.)
        assert!(authenticate(&db, &cache, &token).await.expect("authenticate").is_some(), "cached");
        let fresh = SessionCache::default();
        assert!(authenticate(&db, &fresh, &token).await.expect("authenticate").is_none(), "an expired session");

        // Disabled: a fresh session, then the user is disabled (its sessions go with it) — and a session
        // row that somehow survived must not resolve either.
        let (token, _) = login(&db, &throttle, None, "li.na", "long enough pw").await.expect("login");
        assert!(authenticate(&db, &cache, &token).await.expect("authenticate").is_some(), "live and now cached");
        disable_user(&db, &cache, &row.id).await.expect("disable");
        assert!(authenticate(&db, &cache, &token).await.expect("authenticate").is_none(), "a disabled user");
        session::Entity::insert(session::ActiveModel {
            token_hash: Set(token_hash(&token)),
            user_id: Set(row.id.clone()),
            expires_ms: Set(now_ms() + SESSION_TTL_MS),
        })
        .exec(&db)
        .await
        .expect("stale session row");
        assert!(
            authenticate(&db, &cache, &token).await.expect("authenticate").is_none(),
            "a disabled user's stale session"
        );

        // Logging out ends the session at once, cached or not.
        let row2 = insert_user(
            &db,
            &[1; 16],
            &NewUser { username: "wang.fang".into(), ..new },
            &KeyPair::from_seed("auth-test-2"),
        )
        .await
        .expect("user");
        let (token, _) = login(&db, &throttle, None, "wang.fang", "long enough pw").await.expect("login");
        let me = authenticate(&db, &cache, &token).await.expect("authenticate").expect("live");
        assert_eq!(me.id, row2.id);
        assert!(logout(&db, &cache, &token).await.expect("logout"));
        assert!(authenticate(&db, &cache, &token).await.expect("authenticate").is_none(), "logged out");
    }
}
