//! Typed API errors. Every error a client sees carries `extensions.code` (one of [`ErrorCode`]) and,
//! for bad input, `extensions.field`, so clients branch on codes instead of parsing messages. Internal
//! failures are logged here with their details and reach the client only as `INTERNAL`.

use async_graphql::{ErrorExtensions, ServerError};

use scf_client::ChainError;

/// The stable error codes of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    BadUserInput,
    Conflict,
    NotFound,
    Timeout,
    /// Too many public requests from one client address; retry later.
    RateLimited,
    Internal,
    GraphqlParseFailed,
    GraphqlValidationFailed,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            ErrorCode::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
        }
    }
}

/// An error of a resolver.
///
/// Deliberately not `Display`: async-graphql converts any `Display` type into an error *without*
/// extensions, so `?` would silently drop the code. The only conversion is ours, which sets it.
#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    Forbidden(String),
    BadInput {
        field: String,
        reason: String,
    },
    /// The request conflicts with current state; `rule` is the domain rule's code when a rule refused it.
    Conflict {
        rule: Option<String>,
        message: String,
    },
    NotFound {
        what: String,
    },
    Timeout,
    /// The client address used up its allowance of public requests; `retry_after_ms` until the next one.
    RateLimited {
        retry_after_ms: u64,
    },
    /// The node refused a transaction for now (full mempool, the organisation's quota, the sender's
    /// limit) and kept refusing for as long as the API waited: the client may retry after
    /// `retry_after_ms`. Reported as `RATE_LIMITED`.
    Busy {
        reason: String,
        retry_after_ms: u64,
    },
    /// Details are logged where the error is made, never sent.
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn bad_input(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::BadInput { field: field.into(), reason: reason.into() }
    }
    pub fn forbidden(reason: impl Into<String>) -> Self {
        ApiError::Forbidden(reason.into())
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound { what: what.into() }
    }
    pub fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!(context, error = %e, "internal error");
        ApiError::Internal(context.to_string())
    }
    /// The message a client sees.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated => "authentication required".into(),
            ApiError::Forbidden(m) => m.clone(),
            ApiError::BadInput { field, reason } => format!("{field}: {reason}"),
            ApiError::Conflict { message, .. } => message.clone(),
            ApiError::NotFound { what } => format!("{what} not found"),
            ApiError::Timeout => "the chain did not commit the transaction in time".into(),
            ApiError::RateLimited { retry_after_ms } => {
                format!("too many requests from this address; retry in {retry_after_ms} ms")
            }
            ApiError::Busy { reason, retry_after_ms } => {
                format!("the chain is busy ({reason}); retry in {retry_after_ms} ms")
            }
            ApiError::Internal(_) => "internal error".into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Unauthenticated => ErrorCode::Unauthenticated,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::BadInput { .. } => ErrorCode::BadUserInput,
            ApiError::Conflict { .. } => ErrorCode::Conflict,
            ApiError::NotFound { .. } => ErrorCode::NotFound,
            ApiError::Timeout => ErrorCode::Timeout,
            ApiError::RateLimited { .. } | ApiError::Busy { .. } => ErrorCode::RateLimited,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// Map a domain rule refusal (a failed receipt) to an API error. The rule's code is kept in
    /// `extensions.rule`; the class decides the API code.
    pub fn from_rule(code: &str, message: &str) -> Self {
        let forbidden = [
            "NOT_HOLDER",
            "NOT_ORG_ADMIN",
            "MISSING_ROLE",
            "NOT_OBLIGOR",
            "NOT_OFFERED_FUNDER",
            "NOT_BUYER",
            "NOT_SELLER",
            "UNKNOWN_ACCOUNT",
            "ACCOUNT_INACTIVE",
            "NOT_OWN_ACCOUNT",
            "ORG_FROZEN",
            "NOT_A_FUNDER",
            "NOT_RECEIPT_HOLDER",
            "NOT_RECEIPT_OPERATOR",
            "NOT_PLEDGEE",
            "NOT_DEVICE_OWNER",
            "NOT_INGESTOR",
            "NOT_A_RECORDER",
            "WORKFLOW_NOT_PARTY",
            "GOV_NOT_MEMBER",
        ];
        if forbidden.iter().any(|f| code.ends_with(f)) {
            return ApiError::Forbidden(format!("{code}: {message}"));
        }
        if code.ends_with("NOT_FOUND") || code == "UNKNOWN_ORG" || code == "GOV_UNKNOWN_PROPOSAL" {
            return ApiError::NotFound { what: format!("{code}: {message}") };
        }
        if code.contains("INVALID") || code == "BAD_PAYLOAD" || code.starts_with("INVOICE_BAD_NUMBER") {
            // Domain messages start with the field name ("field: reason").
            let (field, reason) = message.split_once(": ").unwrap_or(("input", message));
            return ApiError::BadInput { field: field.to_string(), reason: format!("{code}: {reason}") };
        }
        ApiError::Conflict { rule: Some(code.to_string()), message: format!("{code}: {message}") }
    }
}

/// What a client is told to wait after the node kept refusing for now (the API's own backoff ends at
/// one second between attempts).
pub const BUSY_RETRY_AFTER_MS: u64 = 1_000;

impl From<ChainError> for ApiError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Rejected(r) if !r.retryable => {
                let text = r.message;
                let (field, reason) = text.split_once(": ").unwrap_or(("transaction", text.as_str()));
                ApiError::BadInput { field: field.to_string(), reason: reason.to_string() }
            }
            // Back-pressure: the node's message names the limit ("mempool: full …", "sender: … the
            // per-sender limit …"); a node-internal refusal is logged here, not described to the client.
            ChainError::Rejected(r) => {
                let reason = if r.kind == "internal" {
                    tracing::warn!(message = %r.message, "node refused a transaction for now");
                    "node: cannot take transactions right now".to_string()
                } else {
                    r.message
                };
                ApiError::Busy { reason, retry_after_ms: BUSY_RETRY_AFTER_MS }
            }
            ChainError::Timeout(_) => ApiError::Timeout,
            other => ApiError::internal("chain", other),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::internal("read model", e)
    }
}

impl From<scf_domain::kv::StoreError> for ApiError {
    fn from(e: scf_domain::kv::StoreError) -> Self {
        ApiError::internal("state", e)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let code = e.code().as_str();
        async_graphql::Error::new(e.message()).extend_with(|_, ext| {
            ext.set("code", code);
            match &e {
                ApiError::BadInput { field, .. } => ext.set("field", field.as_str()),
                ApiError::Conflict { rule: Some(rule), .. } => ext.set("rule", rule.as_str()),
                ApiError::RateLimited { retry_after_ms } | ApiError::Busy { retry_after_ms, .. } => {
                    ext.set("retryAfterMs", *retry_after_ms)
                }
                _ => {}
            }
        })
    }
}

/// Give errors that async-graphql produced itself (parse, validation, limits) a code as well.
pub fn ensure_code(mut err: ServerError, default: ErrorCode) -> ServerError {
    let has_code = err.extensions.as_ref().map(|e| e.get("code").is_some()).unwrap_or(false);
    if !has_code {
        let mut ext = err.extensions.take().unwrap_or_default();
        ext.set("code", default.as_str());
        err.extensions = Some(ext);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use scf_client::Rejection;

    #[test]
    fn back_pressure_that_outlasts_the_wait_is_a_typed_retry_not_an_internal_error() {
        let full = ApiError::from(ChainError::Rejected(Rejection::new(
            "mempool_full",
            "mempool: full (10000 transactions); retry later",
            true,
        )));
        assert_eq!(full.code(), ErrorCode::RateLimited);
        assert_eq!(
            full.message(),
            "the chain is busy (mempool: full (10000 transactions); retry later); retry in 1000 ms"
        );
        let gql = async_graphql::Error::from(full);
        let ext = gql.extensions.expect("extensions");
        assert_eq!(ext.get("retryAfterMs"), Some(&async_graphql::Value::from(BUSY_RETRY_AFTER_MS)));

        // A node-internal refusal says nothing of the node's internals.
        let internal = ApiError::from(ChainError::Rejected(Rejection::new(
            "internal",
            "node: rocksdb: IO error at /data/x",
            true,
        )));
        assert_eq!(internal.code(), ErrorCode::RateLimited);
        assert!(!internal.message().contains("rocksdb"), "{}", internal.message());

        // A bad transaction stays a bad input, naming its field.
        let bad = ApiError::from(ChainError::Rejected(Rejection::new("nonce_used", "nonce: 3 is used", false)));
        assert_eq!(bad.code(), ErrorCode::BadUserInput);
        assert_eq!(bad.message(), "nonce: 3 is used");
    }
}
