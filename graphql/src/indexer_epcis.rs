//! The EPCIS read model: one row per anchored provenance event, with the fields the EPCIS 2.0 query
//! interface filters on, and one row per identifier the event names (EPCs and classes by role), so
//! `GET /epcis/events` is an indexed SQL query instead of a walk over chain state.
//!
//! Anchored events never change, so rows are written once (`ON CONFLICT DO NOTHING`) and are not
//! dropped by [`crate::indexer::clear_derived`]: a rebuild from genesis writes the same rows again.

use scf_domain::provenance::{self as dprov, canon, epcis, StoredEvent};
use scf_ledger::receipt::Receipt;
use scf_ledger::state::StateRead;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};

use crate::db::integration::{epcis_event, epcis_event_key};
use crate::indexer::IndexError;

/// The rows one block adds.
#[derive(Default)]
pub struct EpcisRows {
    events: Vec<epcis_event::ActiveModel>,
    keys: Vec<epcis_event_key::ActiveModel>,
}

fn state_err(height: u64, e: impl std::fmt::Display) -> IndexError {
    IndexError::State { height, reason: e.to_string() }
}

/// The events a block anchored (`provenance/EventAnchored`), read back from state with their fields.
pub fn derive(
    state: &dyn StateRead,
    height: u64,
    block_hash: &str,
    receipts: &[Receipt],
) -> Result<EpcisRows, IndexError> {
    let mut rows = EpcisRows::default();
    for r in receipts {
        for e in r.events.iter().filter(|e| e.module == dprov::MODULE && e.kind == "EventAnchored") {
            let Some(hash) = e.attributes.iter().find(|(k, _)| k == "hash").map(|(_, v)| v) else { continue };
            let stored = dprov::event_by_hash(state, hash)
                .map_err(|e| state_err(height, e))?
                .ok_or_else(|| state_err(height, format!("anchored event {hash} is not in state")))?;
            rows.push(&stored, block_hash, height)?;
        }
    }
    Ok(rows)
}

impl EpcisRows {
    fn push(&mut self, stored: &StoredEvent, block_hash: &str, height: u64) -> Result<(), IndexError> {
        let ev = epcis::parse_event(&stored.event_json)
            .map_err(|e| state_err(height, format!("anchored event #{}: {}: {}", stored.seq, e.path, e.reason)))?;
        let seq = i64::try_from(stored.seq).map_err(|e| state_err(height, e))?;
        let transformation_id = ev.json.get("transformationID").and_then(|v| v.as_str()).map(str::to_string);
        self.events.push(epcis_event::ActiveModel {
            seq: Set(seq),
            hash: Set(stored.hash.clone()),
            event_id: Set(ev.event_id.clone().unwrap_or_else(|| stored.hash.clone())),
            event_type: Set(stored.event_type.as_str().to_string()),
            event_time_ms: Set(stored.event_time_ms),
            record_time_ms: Set(i64::try_from(stored.block_time_ms).unwrap_or(i64::MAX)),
            action: Set(ev.action.clone()),
            // CBV 1.x URNs (kept as written in XML captures) are stored in their web vocabulary form,
            // the one queries compare with, so either spelling finds the event.
            biz_step: Set(ev.biz_step.as_deref().map(canon::web_vocabulary)),
            disposition: Set(ev.disposition.as_deref().map(canon::web_vocabulary)),
            read_point: Set(ev.read_point.as_deref().map(crate::rest::epcis_query::location_key)),
            biz_location: Set(ev.biz_location.as_deref().map(crate::rest::epcis_query::location_key)),
            transformation_id: Set(transformation_id),
            org: Set(stored.org.clone()),
            tx_id: Set(stored.tx_id.to_hex()),
            height: Set(i64::try_from(stored.height).unwrap_or(i64::MAX)),
            block_hash: Set(block_hash.to_string()),
            json: Set(stored.event_json.clone()),
        });
        let classes = |q: &[epcis::QuantityElement]| q.iter().map(|q| q.epc_class.clone()).collect::<Vec<_>>();
        let lists: [(&str, Vec<String>); 9] = [
            ("epc", ev.epcs.clone()),
            ("parent", ev.parent_id.iter().cloned().collect()),
            ("child", ev.child_epcs.clone()),
            ("input", ev.input_epcs.clone()),
            ("output", ev.output_epcs.clone()),
            ("class", classes(&ev.quantities)),
            ("child_class", classes(&ev.child_quantities)),
            ("input_class", classes(&ev.input_quantities)),
            ("output_class", classes(&ev.output_quantities)),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (role, uris) in lists {
            for uri in uris {
                let key = dprov::index_key(&uri);
                if seen.insert((role, key.clone())) {
                    self.keys.push(epcis_event_key::ActiveModel {
                        seq: Set(seq),
                        role: Set(role.to_string()),
                        key: Set(key),
                        uri: Set(uri),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Write a block's rows inside the indexer's transaction.
pub async fn write(txn: &DatabaseTransaction, rows: EpcisRows) -> Result<(), sea_orm::DbErr> {
    for chunk in rows.events.chunks(100) {
        epcis_event::Entity::insert_many(chunk.to_vec())
            .on_conflict(OnConflict::column(epcis_event::Column::Seq).do_nothing().to_owned())
            .exec_without_returning(txn)
            .await?;
    }
    for chunk in rows.keys.chunks(300) {
        epcis_event_key::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    epcis_event_key::Column::Seq,
                    epcis_event_key::Column::Role,
                    epcis_event_key::Column::Key,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
