//! Users, sessions and custodial keys.
//!
//! - Passwords: argon2id hashes (PHC strings); a wrong username and a wrong password give the same error.
//! - Sessions: an opaque 32-byte random token goes to the client; only its SM3 hash is stored, so a
//!   copy of the table cannot be replayed.
//! - Custodial keys: each user gets an SM2 key, sealed with SM4-GCM under the node key with the user id
//!   as associated data (a sealed key moved to another user row does not open). The key is opened only
//!   to sign, and never logged.

use std::time::{SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use scf_ledger::crypto::{decrypt_at_rest, encrypt_at_rest, random_bytes, sm3, KeyPair};
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
}

/// How long a session lasts.
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
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
        password_hash: hash_password(&n.password)?,
        role: n.role.as_str().into(),
        public_key: key.public().to_hex(),
        address: key.address().to_hex(),
        sealed_key: hex::encode(sealed),
        created_ms: now_ms(),
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
    })
}

/// Check credentials and open a session; returns the token (shown once) and the user.
pub async fn login(db: &DatabaseConnection, username: &str, password: &str) -> ApiResult<(String, AuthUser)> {
    let row = user::Entity::find().filter(user::Column::Username.eq(username.trim())).one(db).await?;
    let Some(row) = row.filter(|r| verify_password(password, &r.password_hash)) else {
        return Err(ApiError::Unauthenticated);
    };
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

pub async fn logout(db: &DatabaseConnection, token: &str) -> ApiResult<bool> {
    let r = session::Entity::delete_by_id(token_hash(token)).exec(db).await?;
    Ok(r.rows_affected > 0)
}

/// Resolve a bearer token to its user (`None` if unknown or expired).
pub async fn authenticate(db: &DatabaseConnection, token: &str) -> ApiResult<Option<AuthUser>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let Some(s) = session::Entity::find_by_id(token_hash(token)).one(db).await? else { return Ok(None) };
    if s.expires_ms < now_ms() {
        return Ok(None);
    }
    match user::Entity::find_by_id(s.user_id).one(db).await? {
        Some(u) => Ok(Some(to_auth(&u)?)),
        None => Ok(None),
    }
}

pub async fn user_row(db: &DatabaseConnection, id: &str) -> ApiResult<user::Model> {
    user::Entity::find_by_id(id.to_string()).one(db).await?.ok_or_else(|| ApiError::not_found("user"))
}
