//! The node's small client API (HTTP/JSON), used by the GraphQL layer, the ingestion service, the
//! benchmark and tests. Typed responses live in [`scf_client::wire`], shared with the client.
//!
//! - `POST /tx` — body: raw wire bytes (`application/octet-stream`) or hex text → `{"tx_id"}`, or a
//!   typed rejection `{"error":{"kind","message","retryable"}}` (400; 503 when the mempool is full).
//! - `POST /txs` — body: JSON `["hex", …]`, or `application/octet-stream` in the gossip batch format
//!   ([`crate::gossip::encode_batch`]) → one result per transaction (batch admission, signatures
//!   verified in parallel).
//! - `POST /tx/dry-run` — body as `POST /tx` → the receipt the transaction would have if committed
//!   next, computed on the tip's state (nothing is written or gossiped), or a typed rejection (400).
//! - `GET /tx/{id}` — `{"status":"pending"|"committed"|"unknown", …receipt}`.
//! - `GET /block/{height}` — the block with its certificate and hash.
//! - `GET /block/{height}/tx_ids` — only the ids of its transactions, in order.
//! - `GET /block/{height}/receipts` — the receipts of its transactions, in order.
//! - `GET /proof/tx/{id}` — Merkle inclusion proof, block header and commit certificate.
//! - `GET /proof/state?key=HEX&height=N` — a state key's value or absence, proven against the block's
//!   state root (sparse Merkle proof, as JSON and as borsh).
//! - `GET /status` — chain id, height, tip hash, state root, consensus round, peers, mempool size.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scf_ledger::crypto::Hash32;
use scf_ledger::executor::TxRejection;
use serde::Deserialize;
use serde_json::json;

use crate::chain::Chain;
use crate::mempool::SubmitError;
use scf_client::wire::{
    ApiErrorBody, BlockReceiptsResponse, BlockResponse, BlockTxIdsResponse, StateProofResponse, StatusResponse,
    SubmitResult, TxProofResponse,
};

/// A client API error: status code plus a machine-readable kind.
pub struct ApiError {
    status: StatusCode,
    body: ApiErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        ApiError { status, body: ApiErrorBody { kind: kind.into(), message: message.into(), retryable: false } }
    }
    fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        let status = match &e {
            SubmitError::Full { .. }
            | SubmitError::FullBytes { .. }
            | SubmitError::OrgQuota { .. }
            | SubmitError::SenderLimit { .. } => StatusCode::SERVICE_UNAVAILABLE,
            SubmitError::Rejected(TxRejection::UnknownSender { .. } | TxRejection::SenderInactive { .. }) => {
                StatusCode::FORBIDDEN
            }
            SubmitError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            SubmitError::Duplicate { .. } => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError { status, body: error_body(&e) }
    }
}

/// The answer's error body: the kind, the whole message (`tx: …` for admission refusals) and whether a
/// retry may succeed.
fn error_body(e: &SubmitError) -> ApiErrorBody {
    ApiErrorBody { kind: e.kind().into(), message: e.to_string(), retryable: e.is_retryable() }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.body }))).into_response()
    }
}

fn parse_hash(field: &str, s: &str) -> Result<Hash32, ApiError> {
    Hash32::from_hex(s).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("{field}: {e}")))
}

pub fn router(chain: Arc<Chain>) -> Router {
    Router::new()
        .route("/tx", post(submit_one))
        .route("/txs", post(submit_batch))
        .route("/tx/dry-run", post(dry_run))
        .route("/tx/{id}", get(tx_status))
        .route("/block/{height}", get(block))
        .route("/block/{height}/tx_ids", get(block_tx_ids))
        .route("/block/{height}/receipts", get(block_receipts))
        .route("/proof/tx/{id}", get(tx_proof))
        .route("/proof/state", get(state_proof))
        .route("/status", get(status))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(chain)
}

/// Whether the request says its body is raw bytes.
fn is_octet_stream(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/octet-stream"))
}

/// Raw bytes, or hex text when the content type says text/JSON or the body is all hex digits.
fn body_to_tx_bytes(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    if is_octet_stream(headers) {
        return Ok(body.to_vec());
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "body: neither octet-stream nor hex text")
    })?;
    let text = text.trim().trim_matches('"');
    hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("body: not hex: {e}")))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)
}

async fn submit_one(
    State(chain): State<Arc<Chain>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SubmitResult>, ApiError> {
    let raw = body_to_tx_bytes(&headers, &body)?;
    let r = blocking(move || chain.submit_raw(vec![raw], true)).await?;
    match r.into_iter().next() {
        Some(Ok(id)) => Ok(Json(SubmitResult { tx_id: Some(id.to_hex()), error: None })),
        Some(Err(e)) => Err(e.into()),
        None => Err(ApiError::internal("no result")),
    }
}

async fn dry_run(
    State(chain): State<Arc<Chain>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<scf_ledger::receipt::Receipt>, ApiError> {
    let raw = body_to_tx_bytes(&headers, &body)?;
    let tx = scf_ledger::tx::SignedTx::from_bytes(&raw).map_err(|e| ApiError::from(SubmitError::Decode(e)))?;
    let r = blocking(move || -> Result<_, ApiError> {
        let tip = chain.tip().map_err(ApiError::internal)?;
        chain.executor.dry_run(chain.store.as_ref(), &tip, scf_client::now_ms(), &tx).map_err(|e| match e {
            scf_ledger::executor::DryRunError::Rejected(r) => ApiError::from(SubmitError::Rejected(r)),
            scf_ledger::executor::DryRunError::State(e) => ApiError::internal(e),
        })
    })
    .await??;
    Ok(Json(r))
}

fn decode_hex_list(list: Vec<String>) -> Result<Vec<Vec<u8>>, ApiError> {
    if list.len() > 100_000 {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_many", "at most 100000 transactions per batch"));
    }
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            hex::decode(h)
                .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("[{i}]: not hex: {e}")))
        })
        .collect()
}

async fn submit_batch(
    State(chain): State<Arc<Chain>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Vec<SubmitResult>>, ApiError> {
    let raws = if is_octet_stream(&headers) {
        // The binary batch format transactions are gossiped in: no hex, no JSON to parse.
        crate::gossip::decode_batch(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("body: {e}")))?
    } else {
        let list: Vec<String> = serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("body: not a JSON list of hex strings: {e}"))
        })?;
        decode_hex_list(list)?
    };
    let results = blocking(move || chain.submit_raw(raws, true)).await?;
    Ok(Json(
        results
            .into_iter()
            .map(|r| match r {
                Ok(id) => SubmitResult { tx_id: Some(id.to_hex()), error: None },
                Err(e) => SubmitResult { tx_id: None, error: Some(error_body(&e)) },
            })
            .collect(),
    ))
}

async fn tx_status(State(chain): State<Arc<Chain>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_hash("id", &id)?;
    let s = blocking(move || chain.tx_status(&id)).await?.map_err(ApiError::internal)?;
    Ok(Json(s).into_response())
}

async fn block(State(chain): State<Arc<Chain>>, Path(height): Path<u64>) -> Result<Json<BlockResponse>, ApiError> {
    let b = blocking(move || chain.block(height)).await?.map_err(ApiError::internal)?;
    let b = b.ok_or_else(|| ApiError::not_found(&format!("block {height}")))?;
    Ok(Json(BlockResponse { hash: b.hash().to_hex(), block: b }))
}

/// Just the ids of a block's transactions, in order (what a watcher needs to time its submissions).
async fn block_tx_ids(
    State(chain): State<Arc<Chain>>,
    Path(height): Path<u64>,
) -> Result<Json<BlockTxIdsResponse>, ApiError> {
    let b = blocking(move || chain.block(height)).await?.map_err(ApiError::internal)?;
    let b = b.ok_or_else(|| ApiError::not_found(&format!("block {height}")))?;
    Ok(Json(BlockTxIdsResponse { height, tx_ids: b.txs.iter().map(|t| t.id().to_hex()).collect() }))
}

/// The receipts of a block's transactions, in order (what a follower of the chain indexes).
async fn block_receipts(
    State(chain): State<Arc<Chain>>,
    Path(height): Path<u64>,
) -> Result<Json<BlockReceiptsResponse>, ApiError> {
    let b = blocking(move || chain.committed_block(height)).await?.map_err(ApiError::internal)?;
    let b = b.ok_or_else(|| ApiError::not_found(&format!("block {height}")))?;
    Ok(Json(BlockReceiptsResponse { height, receipts: b.receipts }))
}

async fn tx_proof(State(chain): State<Arc<Chain>>, Path(id): Path<String>) -> Result<Json<TxProofResponse>, ApiError> {
    let id = parse_hash("id", &id)?;
    let p = blocking(move || chain.tx_proof(&id)).await?.map_err(ApiError::internal)?;
    let (proof, certificate) = p.ok_or_else(|| ApiError::not_found("committed transaction"))?;
    Ok(Json(TxProofResponse { proof, certificate }))
}

#[derive(Deserialize)]
struct StateQuery {
    key: String,
    height: Option<u64>,
}

async fn state_proof(
    State(chain): State<Arc<Chain>>,
    Query(q): Query<StateQuery>,
) -> Result<Json<StateProofResponse>, ApiError> {
    let key = hex::decode(&q.key)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("key: not hex: {e}")))?;
    if key.len() > scf_ledger::state::MAX_KEY_BYTES {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("key: {} bytes, at most {}", key.len(), scf_ledger::state::MAX_KEY_BYTES),
        ));
    }
    let r = blocking(move || -> Result<StateProofResponse, ApiError> {
        let tip = chain.tip().map_err(ApiError::internal)?;
        let height = q.height.unwrap_or(tip.height);
        if height > tip.height {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("height: {height} is above the tip {}", tip.height),
            ));
        }
        let header =
            if height == 0 { None } else { chain.block(height).map_err(ApiError::internal)?.map(|b| b.header) };
        let proof = chain.store.state_proof(&key, height).map_err(ApiError::internal)?;
        Ok(StateProofResponse {
            height,
            header,
            root: proof.root.to_hex(),
            key: hex::encode(&proof.key),
            value: proof.value.as_ref().map(hex::encode),
            proof: proof_json(&proof.proof),
            proof_borsh: hex::encode(scf_ledger::codec::encode(&proof)),
        })
    })
    .await??;
    Ok(Json(r))
}

/// A state proof as JSON: each level's child bitmap and sibling hashes, root first, and the path's end.
fn proof_json(p: &scf_ledger::authenticated::SparseProof) -> serde_json::Value {
    use scf_ledger::authenticated::ProofEnd;
    let levels: Vec<serde_json::Value> = p
        .levels
        .iter()
        .map(|l| json!({ "bitmap": l.bitmap, "siblings": l.siblings.iter().map(|h| h.to_hex()).collect::<Vec<_>>() }))
        .collect();
    let end = match &p.end {
        ProofEnd::Empty => json!({ "kind": "empty" }),
        ProofEnd::Leaf { key, value_hash } => {
            json!({ "kind": "leaf", "key_hash": hex::encode(key.0), "value_hash": value_hash.to_hex() })
        }
    };
    json!({ "levels": levels, "end": end })
}

async fn status(State(chain): State<Arc<Chain>>) -> Result<Json<StatusResponse>, ApiError> {
    let c = chain.clone();
    let tip = blocking(move || c.tip()).await?.map_err(ApiError::internal)?;
    let progress = chain.progress.read().map(|p| p.clone()).unwrap_or_default();
    Ok(Json(StatusResponse {
        chain_id: chain.genesis.chain_id.clone(),
        height: tip.height,
        tip_hash: tip.hash.to_hex(),
        state_root: tip.state_root.to_hex(),
        time_ms: tip.time_ms,
        consensus_height: progress.height,
        consensus_round: progress.round,
        peers: progress.peers,
        mempool: chain.mempool.len(),
    }))
}
