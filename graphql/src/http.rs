//! HTTP: `/graphql` (POST queries and mutations; GET serves GraphiQL, or upgrades to graphql-ws for
//! subscriptions), `/healthz`, `/metrics`. This crate is the only one that knows HTTP.

use std::sync::{Arc, OnceLock};

use async_graphql::http::GraphiQLSource;
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::auth;
use crate::schema::{ApiSchema, Caller};
use crate::service::Api;

#[derive(Clone)]
pub struct AppState {
    pub schema: ApiSchema,
    pub api: Arc<Api>,
    /// Recent answers to anonymous queries (see [`crate::public_cache`]).
    pub public: Arc<crate::public_cache::PublicAnswers>,
    /// The bearer token `/metrics` demands; `None`: loopback clients only.
    pub metrics_token: Option<Arc<str>>,
    /// Serve the GraphiQL page on GET /graphql (with introspection).
    pub graphiql: bool,
}

/// One Prometheus recorder per process (the `metrics` facade is global).
fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .as_ref()
}

pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let _ = prometheus();
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .layer(axum::Extension(WsLimit(max_body_bytes)))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        // Both: DefaultBodyLimit for axum's own extractors, RequestBodyLimitLayer for the GraphQL
        // extractor, which streams the body itself.
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body_bytes))
        .with_state(state)
}

/// The built web UI: files from `dir`, and `index.html` for any other path (client-side routes such
/// as the Digital Link page `/01/{gtin}/10/{lot}`).
pub fn static_ui(dir: &std::path::Path) -> tower_http::services::ServeDir<tower_http::services::ServeFile> {
    tower_http::services::ServeDir::new(dir).fallback(tower_http::services::ServeFile::new(dir.join("index.html")))
}

/// Equal without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// Who a request acts for: the session's user, unless the session is unknown or expired, the user was
/// disabled, or its account is no longer active on chain (removed or frozen).
pub(crate) async fn caller_for(api: &Api, token: Option<String>) -> Caller {
    let user = match &token {
        Some(t) => auth::authenticate(&api.db, &api.sessions, t).await.ok().flatten().filter(|u| api.account_active(u)),
        None => None,
    };
    Caller { user, token }
}

async fn graphql_post(
    State(s): State<AppState>,
    client: crate::ratelimit::ClientAddr,
    headers: HeaderMap,
    req: GraphQLRequest,
) -> Response {
    let started = std::time::Instant::now();
    let token = bearer(&headers);
    let req = req.into_inner();
    // Anonymous queries read only public data: serve a recent identical answer at the same tip.
    let public_key = if token.is_none() { crate::public_cache::PublicAnswers::key(&req) } else { None };
    let cacheable = match public_key {
        Some(k) => Some((k, s.api.chain.tip().await.ok().flatten().map(|t| t.height).unwrap_or(0))),
        None => None,
    };
    if let Some((key, height)) = &cacheable {
        if let Some(body) = s.public.get(key, *height, client.0) {
            metrics::counter!("scf_graphql_requests_total", "errors" => "no", "cached" => "yes").increment(1);
            metrics::histogram!("scf_graphql_request_seconds").record(started.elapsed().as_secs_f64());
            return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
        }
    }
    let caller = caller_for(&s.api, token).await;
    let resp = s.schema.execute(req.data(caller).data(client).data(crate::schema::users::LoginBudget::default())).await;
    let ok = resp.errors.is_empty();
    metrics::counter!("scf_graphql_requests_total", "errors" => if ok { "no" } else { "yes" }).increment(1);
    metrics::histogram!("scf_graphql_request_seconds").record(started.elapsed().as_secs_f64());
    if let (Some((key, height)), true) = (cacheable, ok) {
        if let Ok(body) = serde_json::to_vec(&resp) {
            let body = axum::body::Bytes::from(body);
            s.public.put(key, height, body.clone());
            return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
        }
    }
    GraphQLResponse::from(resp).into_response()
}

/// The largest WebSocket message (and frame) a client may send: the HTTP body limit.
#[derive(Clone, Copy)]
struct WsLimit(usize);

async fn graphql_get(
    State(s): State<AppState>,
    axum::Extension(WsLimit(max_message)): axum::Extension<WsLimit>,
    client: crate::ratelimit::ClientAddr,
    protocol: Result<GraphQLProtocol, StatusCode>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match (ws, protocol) {
        (Ok(ws), Ok(protocol)) => {
            let schema = s.schema.clone();
            let api = s.api.clone();
            ws.max_message_size(max_message)
                .max_frame_size(max_message)
                .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
                .on_upgrade(move |socket| async move {
                    GraphQLWebSocket::new(socket, schema, protocol)
                        .on_connection_init(move |payload| async move {
                            // graphql-ws has no headers: the token comes in connection_init.
                            let token = payload
                                .get("token")
                                .or_else(|| payload.get("authorization"))
                                .and_then(|v| v.as_str())
                                .map(|t| t.trim_start_matches("Bearer ").to_string());
                            let mut data = Data::default();
                            data.insert(caller_for(&api, token).await);
                            // Public queries over the socket spend the connection's address's budget.
                            data.insert(client);
                            Ok(data)
                        })
                        .serve()
                        .await
                })
                .into_response()
        }
        _ if s.graphiql => {
            Html(GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql").finish())
                .into_response()
        }
        _ => (StatusCode::NOT_FOUND, "GraphiQL is off on this server; POST GraphQL to /graphql\n").into_response(),
    }
}

async fn healthz(State(s): State<AppState>) -> Response {
    let tip = s.api.chain.tip().await.ok().flatten().map(|t| t.height);
    let indexed = s.api.indexer.cursor().await.ok().flatten();
    let body = serde_json::json!({ "status": "ok", "chain_height": tip, "indexed_height": indexed });
    let code = if tip.is_some() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn metrics_text(State(s): State<AppState>, client: crate::ratelimit::ClientAddr, headers: HeaderMap) -> Response {
    let allowed = match &s.metrics_token {
        Some(t) => bearer(&headers).is_some_and(|b| constant_time_eq(b.as_bytes(), t.as_bytes())),
        None => client.0.is_some_and(|ip| ip.is_loopback()),
    };
    if !allowed {
        return (StatusCode::FORBIDDEN, "metrics: loopback clients or the configured bearer token only\n")
            .into_response();
    }
    if let Ok(Some(tip)) = s.api.chain.tip().await {
        metrics::gauge!("scf_chain_height").set(tip.height as f64);
    }
    if let Ok(Some(h)) = s.api.indexer.cursor().await {
        metrics::gauge!("scf_indexed_height").set(h as f64);
    }
    let text = prometheus().map(|h| h.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
