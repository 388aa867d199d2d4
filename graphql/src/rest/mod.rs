//! The REST side of the API, beside GraphQL on the same host: the EPCIS 2.0 REST binding under
//! `/epcis` ([`epcis`]), what self-signing clients need (`/accounts/{address}/nonce`, `/tx/dry-run`,
//! [`accounts`]) and the webhook signing key (`/webhooks/signing-key`). Callers sign in as for GraphQL:
//! `Authorization: Bearer <session token>`. Errors are RFC 7807 problem documents ([`Problem`]).

pub mod accounts;
pub mod epcis;
pub mod epcis_query;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use crate::auth::{self, AuthUser};
use crate::error::ApiError;
use crate::service::Api;
use crate::webhooks::Delivery;

/// What the REST handlers share.
#[derive(Clone)]
pub struct RestState {
    pub api: Arc<Api>,
    pub webhooks: Option<Arc<Delivery>>,
}

/// Largest EPCIS capture body (the domain's document limit).
const MAX_CAPTURE_BYTES: usize = scf_domain::provenance::epcis::MAX_DOCUMENT_BYTES;

pub fn router(state: RestState) -> Router {
    Router::new()
        .route("/epcis", get(epcis::top_level))
        .route("/epcis/capture", post(epcis::capture).get(epcis::list_jobs).options(epcis::capture_options))
        .route("/epcis/capture/{id}", get(epcis::job))
        .route("/epcis/events", get(epcis::query_events).post(epcis::capture_one).options(epcis::events_options))
        .route("/epcis/events/{*event_id}", get(epcis::event_by_id))
        .route("/epcis/queries", get(epcis::list_queries).post(epcis::create_query))
        .route("/epcis/queries/{name}", get(epcis::get_query).delete(epcis::delete_query))
        .route("/epcis/queries/{name}/events", get(epcis::named_query_events))
        .route("/epcis/openapi.json", get(epcis::openapi))
        .route("/accounts/{address}/nonce", get(accounts::next_nonce))
        .route("/tx/dry-run", post(accounts::dry_run))
        .route("/webhooks/signing-key", get(accounts::webhook_signing_key))
        .layer(DefaultBodyLimit::max(MAX_CAPTURE_BYTES + 1024))
        .with_state(state)
}

/// An RFC 7807 problem, with the EPCIS exception name as its `type` where the EPCIS binding defines
/// one.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// `epcisException:QueryParameterException`, …
    pub kind: &'static str,
    pub title: String,
    pub detail: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &'static str, title: impl Into<String>) -> Problem {
        Problem { status, kind, title: title.into(), detail: None }
    }
    pub fn detail(mut self, d: impl Into<String>) -> Problem {
        self.detail = Some(d.into());
        self
    }
    pub fn query_parameter(field: &str, reason: impl std::fmt::Display) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "epcisException:QueryParameterException", format!("{field}: {reason}"))
    }
    pub fn validation(title: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "epcisException:ValidationException", title)
    }
    pub fn not_found(what: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "epcisException:NoSuchResourceException", what)
    }
    pub fn unauthenticated() -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "epcisException:SecurityException", "authentication required")
    }
    pub fn forbidden(why: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "epcisException:SecurityException", why)
    }
    pub fn internal() -> Problem {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "epcisException:ImplementationException", "internal error")
    }
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = json!({ "type": self.kind, "title": self.title, "status": self.status.as_u16() });
        if let Some(d) = &self.detail {
            v["detail"] = json!(d);
        }
        v
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.to_json().to_string()).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Problem {
        let msg = e.message();
        match e {
            ApiError::Unauthenticated => Problem::unauthenticated(),
            ApiError::Forbidden(_) => Problem::forbidden(msg),
            ApiError::BadInput { .. } => Problem::validation(msg),
            ApiError::Conflict { .. } => {
                Problem::new(StatusCode::CONFLICT, "epcisException:ResourceAlreadyExistsException", msg)
            }
            ApiError::NotFound { .. } => Problem::not_found(msg),
            ApiError::Timeout => {
                Problem::new(StatusCode::GATEWAY_TIMEOUT, "epcisException:ImplementationException", msg)
            }
            ApiError::RateLimited { .. } | ApiError::Busy { .. } => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, "epcisException:ImplementationException", msg)
            }
            ApiError::Internal(_) => Problem::internal(),
        }
    }
}

impl From<sea_orm::DbErr> for Problem {
    fn from(e: sea_orm::DbErr) -> Problem {
        ApiError::from(e).into()
    }
}

/// The bearer token's user, or 401.
pub async fn signed_in(api: &Api, headers: &HeaderMap) -> Result<AuthUser, Problem> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(Problem::unauthenticated)?;
    auth::authenticate(&api.db, &api.sessions, token).await.map_err(Problem::from)?.ok_or_else(Problem::unauthenticated)
}

/// A JSON response with a content type.
pub fn json_response(status: StatusCode, content_type: &'static str, body: &serde_json::Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
