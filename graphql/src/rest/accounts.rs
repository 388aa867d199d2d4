//! What a client that holds its own SM2 key needs besides submitting (`submitSignedTransaction`): its
//! account's next nonce, and the receipt a signed transaction would have (a dry run, nothing
//! written). Also the key webhook receivers verify signatures with. The same is in GraphQL
//! (`nextNonce`, `dryRun`, `webhookSigningKey`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use scf_ledger::crypto::Address;
use scf_ledger::receipt::{Receipt, TxOutcome};
use scf_ledger::tx::SignedTx;
use serde_json::json;

use super::{json_response, Problem, RestState};
use crate::error::{ApiError, ApiResult};
use crate::service::Api;

/// Hex of an encoded transaction may be at most this long (the chain's transaction size limit).
pub const MAX_SIGNED_TX_HEX: usize = 2 * 256 * 1024;

pub fn parse_address(field: &str, s: &str) -> ApiResult<Address> {
    let s = s.trim().trim_start_matches("0x");
    Address::from_hex(s).map_err(|_| ApiError::bad_input(field, "expected 40 hex digits (a 20-byte account address)"))
}

/// The next nonce the account must use, as of the committed tip. A client with transactions still in
/// flight counts those itself.
pub async fn account_nonce(api: &Api, addr: &Address) -> ApiResult<(u64, u64)> {
    let tip = api.chain.tip().await?.ok_or_else(|| ApiError::internal("chain", "no genesis"))?;
    let nonce = scf_client::committed_nonce(api.chain.as_ref(), addr, tip.height).await?;
    Ok((nonce, tip.height))
}

/// Decode and check a client-signed transaction (hex of its canonical encoding).
pub fn decode_signed(field: &str, hex_tx: &str) -> ApiResult<SignedTx> {
    if hex_tx.len() > MAX_SIGNED_TX_HEX {
        return Err(ApiError::bad_input(field, "larger than the transaction size limit"));
    }
    let bytes = hex::decode(hex_tx.trim()).map_err(|e| ApiError::bad_input(field, format!("not hex: {e}")))?;
    let tx = SignedTx::from_bytes(&bytes).map_err(|e| ApiError::bad_input(field, e.to_string()))?;
    tx.verify_signature().map_err(|e| ApiError::bad_input(format!("{field}.signature"), e.to_string()))?;
    Ok(tx)
}

/// The receipt as JSON (what `POST /tx/dry-run` answers).
pub fn receipt_json(r: &Receipt) -> serde_json::Value {
    let (outcome, code, message) = match &r.outcome {
        TxOutcome::Success => ("success", None, None),
        TxOutcome::Failed { code, message } => ("failed", Some(code.clone()), Some(message.clone())),
    };
    json!({
        "txId": r.tx_id.to_hex(),
        "sender": r.sender.to_hex(),
        "module": r.module,
        "height": r.height,
        "outcome": outcome,
        "errorCode": code,
        "errorMessage": message,
        "events": r.events.iter().map(|e| json!({
            "module": e.module, "kind": e.kind, "attributes": e.attributes,
            "data": serde_json::from_str::<serde_json::Value>(&e.data).unwrap_or(serde_json::Value::Null),
        })).collect::<Vec<_>>(),
    })
}

/// `GET /accounts/{address}/nonce` → `{"address", "nonce", "height"}`. Public: a nonce is no secret and
/// a client signs before it has a session.
pub async fn next_nonce_handler(api: &Api, address: &str) -> Result<Response, Problem> {
    let addr = parse_address("address", address).map_err(Problem::from)?;
    let (nonce, height) = account_nonce(api, &addr).await.map_err(Problem::from)?;
    Ok(json_response(
        StatusCode::OK,
        "application/json",
        &json!({ "address": addr.to_hex(), "nonce": nonce, "height": height }),
    ))
}

pub async fn next_nonce(State(s): State<RestState>, Path(address): Path<String>) -> Result<Response, Problem> {
    next_nonce_handler(&s.api, &address).await
}

/// `POST /tx/dry-run` with the hex of a signed transaction as the body (or `{"signedTxHex": …}`) → the
/// receipt it would have now. Admission refusals (bad nonce, expired, unknown account) are 400.
pub async fn dry_run(State(s): State<RestState>, body: Bytes) -> Result<Response, Problem> {
    let text = std::str::from_utf8(&body).map_err(|_| Problem::validation("body: not UTF-8"))?;
    let hex_tx = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v.get("signedTxHex").and_then(|x| x.as_str()).map(str::to_string).unwrap_or_default(),
        Err(_) => text.trim().to_string(),
    };
    let tx = decode_signed("signedTxHex", &hex_tx).map_err(Problem::from)?;
    let receipt = s.api.chain.dry_run(&tx).await.map_err(|e| Problem::from(ApiError::from(e)))?;
    Ok(json_response(StatusCode::OK, "application/json", &receipt_json(&receipt)))
}

/// `GET /webhooks/signing-key`: the SM2 public key webhook bodies are signed with.
pub async fn webhook_signing_key(State(s): State<RestState>) -> Result<Response, Problem> {
    let d = s.webhooks.as_ref().ok_or_else(|| Problem::not_found("webhooks are not enabled on this server"))?;
    Ok(json_response(StatusCode::OK, "application/json", &signing_key_json(d.public_key())))
}

pub fn signing_key_json(pk: &scf_ledger::crypto::PublicKey) -> serde_json::Value {
    json!({
        "algorithm": "SM2-SM3",
        "publicKey": pk.to_hex(),
        "address": pk.address().to_hex(),
        "distinguishingId": scf_ledger::crypto::DEFAULT_DIST_ID,
        "signedBytes": "SCF-WEBHOOK-v1\\n{scf-webhook-id}\\n{scf-webhook-timestamp}\\n{body}",
    })
}
