//! Audit export for the regulator: everything an organisation did or was concerned by between two
//! block times, as JSON or CSV.
//!
//! An organisation's activity is every receipt (successful or refused) whose sender is one of its
//! accounts, or one of whose events names it in an `org` attribute (the convention every domain module
//! follows for the organisations an event concerns). Which accounts belong to the organisation is
//! domain knowledge the store does not have, so the caller passes it as a predicate (read from state,
//! e.g. `org::load_account(state, addr)?.org_id == org`). Events never carry confidential plaintext, so
//! an export holds none either.

use scf_ledger::crypto::{Address, Hash32};
use scf_ledger::module::Event;
use scf_ledger::receipt::TxOutcome;
use serde::Serialize;

use crate::{corrupt, Store, StoreError};

/// One transaction in an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub height: u64,
    pub time_ms: u64,
    pub tx_id: Hash32,
    pub index: u32,
    pub sender: Address,
    /// The sender is one of the organisation's accounts (otherwise an event names it).
    pub by_org: bool,
    pub module: String,
    pub outcome: TxOutcome,
    pub events: Vec<Event>,
}

/// An organisation's activity in `[from_ms, to_ms)` (block times).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditExport {
    pub org: String,
    pub from_ms: u64,
    pub to_ms: u64,
    pub records: Vec<AuditRecord>,
}

/// First height whose block time is `>= time_ms` (block times strictly increase), or `tip + 1`.
fn first_height_at_or_after(store: &Store, tip: u64, time_ms: u64) -> Result<u64, StoreError> {
    let (mut lo, mut hi) = (1u64, tip + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let block = store.block(mid)?.ok_or_else(|| corrupt(format!("block {mid}"), "missing"))?;
        if block.header.time_ms >= time_ms {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

/// Collect `org`'s activity between two block times; `is_org_account` says whether an address is one
/// of its accounts.
pub fn org_activity(
    store: &Store,
    org: &str,
    from_ms: u64,
    to_ms: u64,
    is_org_account: &dyn Fn(&Address) -> bool,
) -> Result<AuditExport, StoreError> {
    let mut records = Vec::new();
    let tip = store.tip()?.map_or(0, |t| t.height);
    let start = first_height_at_or_after(store, tip, from_ms)?;
    for height in start..=tip {
        let block = store.block(height)?.ok_or_else(|| corrupt(format!("block {height}"), "missing"))?;
        if block.header.time_ms >= to_ms {
            break;
        }
        for tx in &block.txs {
            let receipt = store.receipt(&tx.id())?.ok_or_else(|| corrupt("receipts", "missing receipt"))?;
            let by_org = is_org_account(&receipt.sender);
            let named = receipt.events.iter().any(|e| e.attributes.iter().any(|(k, v)| k == "org" && v == org));
            if by_org || named {
                records.push(AuditRecord {
                    height,
                    time_ms: block.header.time_ms,
                    tx_id: receipt.tx_id,
                    index: receipt.index,
                    sender: receipt.sender,
                    by_org,
                    module: receipt.module,
                    outcome: receipt.outcome,
                    events: receipt.events,
                });
            }
        }
    }
    Ok(AuditExport { org: org.to_string(), from_ms, to_ms, records })
}

impl AuditRecord {
    pub fn is_success_outcome(&self) -> bool {
        matches!(self.outcome, TxOutcome::Success)
    }
}

impl AuditExport {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "null".into())
    }

    /// RFC 4180 CSV, one row per transaction:
    /// `height,time_ms,tx_id,index,sender,by_org,module,outcome,code,message,events` where `events` lists
    /// the event kinds separated by `;`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("height,time_ms,tx_id,index,sender,by_org,module,outcome,code,message,events\r\n");
        for r in &self.records {
            let (outcome, code, message) = match &r.outcome {
                TxOutcome::Success => ("success", "", ""),
                TxOutcome::Failed { code, message } => ("failed", code.as_str(), message.as_str()),
            };
            let kinds: Vec<&str> = r.events.iter().map(|e| e.kind.as_str()).collect();
            let fields = [
                r.height.to_string(),
                r.time_ms.to_string(),
                r.tx_id.to_hex(),
                r.index.to_string(),
                r.sender.to_hex(),
                r.by_org.to_string(),
                r.module.clone(),
                outcome.to_string(),
                code.to_string(),
                message.to_string(),
                kinds.join(";"),
            ];
            let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}
