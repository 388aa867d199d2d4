//! Tables of the integration surface: the EPCIS read model (derived from anchored provenance events),
//! EPCIS capture jobs and named queries, webhook endpoints with their outbox and delivery log, and the
//! member's own signing keys. Only `epcis_events` and `epcis_event_keys` are derived from the chain;
//! the rest is the API's own data, kept across a rebuild of the read model.

/// One sea-orm entity module with no relations (same shape as the tables in `entities`).
macro_rules! table {
    ($module:ident, $name:literal, { $($body:tt)* }) => {
        pub mod $module {
            use sea_orm::entity::prelude::*;
            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
            #[sea_orm(table_name = $name)]
            pub struct Model { $($body)* }
            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}
            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

table!(epcis_event, "epcis_events", {
    /// The provenance module's capture sequence number (chain order).
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// CBV 2.0 event hash (`ni:///sha-256;…?ver=CBV2.0`).
    #[sea_orm(indexed)]
    pub hash: String,
    /// The event's own `eventID`, else its hash (EPCIS 2.0: a server fills in missing event ids).
    #[sea_orm(indexed)]
    pub event_id: String,
    #[sea_orm(indexed)]
    pub event_type: String,
    #[sea_orm(indexed)]
    pub event_time_ms: i64,
    /// The anchoring block's time: the event's `recordTime`.
    #[sea_orm(indexed)]
    pub record_time_ms: i64,
    pub action: Option<String>,
    /// CBV values as stored on chain (web vocabulary URIs for standard values).
    #[sea_orm(indexed)]
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    /// Locations as index keys (a GS1 location as its canonical Digital Link), as queries compare them.
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub transformation_id: Option<String>,
    /// The organisation that anchored it.
    #[sea_orm(indexed)]
    pub org: String,
    pub tx_id: String,
    pub height: i64,
    pub block_hash: String,
    /// The self-contained event JSON as anchored.
    pub json: String,
});

table!(epcis_event_key, "epcis_event_keys", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// Where the identifier appears: `epc`, `parent`, `child`, `input`, `output`, `class`,
    /// `child_class`, `input_class`, `output_class`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: String,
    /// The identifier's index key: the canonical Digital Link of a GS1 key, any other URI as written.
    #[sea_orm(primary_key, auto_increment = false, indexed)]
    pub key: String,
    /// As the event wrote it (an EPC URN, a Digital Link, …).
    pub uri: String,
});

table!(epcis_capture_job, "epcis_capture_jobs", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(indexed)]
    pub org: String,
    pub user_id: String,
    pub created_ms: i64,
    pub finished_ms: Option<i64>,
    pub running: bool,
    pub success: bool,
    /// `rollback` or `proceed` (`GS1-Capture-Error-Behaviour`).
    pub error_behaviour: String,
    /// JSON array of RFC 7807 problem objects.
    pub errors: String,
    /// JSON array of the document's event hashes, in document order.
    pub hashes: String,
    pub event_count: i32,
});

table!(epcis_named_query, "epcis_named_queries", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The query object (`{"EQ_bizStep": ["shipping"], …}`) as JSON.
    pub query: String,
    pub created_ms: i64,
});

table!(webhook_endpoint, "webhook_endpoints", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(indexed)]
    pub org: String,
    pub url: String,
    /// JSON array of webhook kinds (`VOUCHER`, `WORKFLOW_TASK`, …).
    pub kinds: String,
    /// Events of blocks above this height are delivered (the indexed height at registration).
    pub from_height: i64,
    pub created_by: String,
    pub created_ms: i64,
    pub active: bool,
});

table!(webhook_delivery, "webhook_deliveries", {
    /// `{endpoint id}.{event id}`: the same event reaches the same endpoint under one id, however often
    /// it is sent.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(indexed)]
    pub endpoint_id: String,
    #[sea_orm(indexed)]
    pub org: String,
    pub event_id: i64,
    pub height: i64,
    pub kind: String,
    /// The exact bytes sent (JSON).
    pub body: String,
    /// `pending`, `delivered` or `failed` (gave up after the last retry; redeliver to try again).
    #[sea_orm(indexed)]
    pub status: String,
    pub attempts: i32,
    #[sea_orm(indexed)]
    pub next_attempt_ms: i64,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub delivered_ms: Option<i64>,
});

table!(webhook_attempt, "webhook_attempts", {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(indexed)]
    pub delivery_id: String,
    pub attempt: i32,
    pub at_ms: i64,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
});

table!(member_key, "member_keys", {
    /// What the key is for (`webhooks`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub purpose: String,
    pub public_key: String,
    /// SM4-GCM under the node key, with the purpose as associated data.
    pub sealed_secret: String,
    pub created_ms: i64,
});
