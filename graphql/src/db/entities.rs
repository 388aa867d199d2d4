//! Tables of the read model. Everything here is derived from committed blocks (and can be rebuilt from
//! the chain) except `users` and `sessions`, which are the API's own data.
//!
//! Amounts are fen in `i64` (both backends' BIGINT); ids and hashes are lower-case hex or domain ids.

/// Defines one sea-orm entity module with no relations (joins are written where they are used).
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

table!(block, "blocks", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub height: i64,
    pub hash: String,
    pub parent_hash: String,
    pub state_root: String,
    pub time_ms: i64,
    pub proposer: String,
    pub tx_count: i32,
});

table!(transaction, "transactions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(indexed)]
    pub height: i64,
    pub tx_index: i32,
    #[sea_orm(indexed)]
    pub sender: String,
    pub module: String,
    /// `success` or `failed`.
    pub outcome: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
});

table!(event, "events", {
    /// Deterministic: see `indexer::event_id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    #[sea_orm(indexed)]
    pub height: i64,
    pub tx_id: String,
    pub tx_index: i32,
    pub event_index: i32,
    pub module: String,
    pub kind: String,
    /// JSON array of `[name, value]` pairs, in emission order.
    pub attributes: String,
    /// The event's JSON body as the module wrote it.
    pub data: String,
});

table!(event_org, "event_orgs", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: String,
});

table!(organisation, "organisations", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub credit_code: String,
    /// JSON array of role names (`core_enterprise`, `supplier`, ...).
    pub roles: String,
    pub public_key: String,
    /// `active` or `frozen`.
    pub status: String,
    pub approved_funder: bool,
    pub updated_height: i64,
});

table!(voucher, "vouchers", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(indexed)]
    pub root_id: String,
    pub parent_id: Option<String>,
    pub depth: i32,
    pub issuer: String,
    #[sea_orm(indexed)]
    pub holder: String,
    pub pending_from: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub issue_date: String,
    /// ISO date `YYYY-MM-DD`: sorts and compares as text on both backends.
    #[sea_orm(indexed)]
    pub due_date: String,
    /// `pending`, `active`, `rejected`, `split`, `settled`.
    #[sea_orm(indexed)]
    pub status: String,
    pub contract_ref: String,
    /// JSON array of invoice numbers.
    pub invoices: String,
    pub offered_to: Option<String>,
    pub financed_by: Option<String>,
    pub frozen: bool,
    pub updated_height: i64,
});

table!(voucher_party, "voucher_parties", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub voucher_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: String,
    pub root_id: String,
    /// How the organisation came to the voucher: `holder`, `issuer`, `offered`, `funder`.
    pub relation: String,
});

table!(voucher_visibility, "voucher_visibility", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub voucher_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: String,
    #[sea_orm(indexed)]
    pub root_id: String,
});

table!(invoice, "invoices", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub number: String,
    pub issue_date: String,
    pub currency: String,
    pub seller_name: String,
    pub seller_tax_id: String,
    pub buyer_name: String,
    pub buyer_tax_id: String,
    #[sea_orm(indexed)]
    pub seller_org: String,
    pub buyer_org: Option<String>,
    pub total_amount: i64,
    pub total_tax: i64,
    pub total_with_tax: i64,
    pub reversed: i64,
    pub financed: i64,
    pub booked: bool,
    pub line_count: i32,
    pub updated_height: i64,
});

table!(invoice_party, "invoice_parties", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub number: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: String,
    /// `seller`, `buyer`, `funder`.
    pub relation: String,
});

table!(indexer_cursor, "indexer_cursor", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// Last height whose rows are committed (0 = genesis).
    pub height: i64,
    pub block_hash: String,
});

table!(user, "users", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(indexed)]
    pub org_id: String,
    #[sea_orm(unique)]
    pub username: String,
    pub password_hash: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    pub public_key: String,
    pub address: String,
    /// SM4-GCM sealed custodial secret key (hex), AAD = user id.
    pub sealed_key: String,
    pub created_ms: i64,
    /// Set for a one-time password: the user must choose a password before doing anything else.
    pub must_change_password: bool,
    /// When an admin disabled the user (sessions revoked, on-chain account removed); `None`: active.
    pub disabled_ms: Option<i64>,
});

table!(session, "sessions", {
    /// SM3 of the opaque token (hex): a leaked table does not leak usable tokens.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    #[sea_orm(indexed)]
    pub user_id: String,
    pub expires_ms: i64,
});

table!(workflow_instance, "workflow_instances", {
    /// Instance id (`APP-1`, a margin call `APP-1#MC1`, a voucher root for maturity).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `financing`, `pledge`, `margin_call`, `maturity`.
    #[sea_orm(indexed)]
    pub process: String,
    #[sea_orm(indexed)]
    pub state: String,
    pub terminal: bool,
    /// What the process is about: the voucher (financing), the receipt (pledge, margin call), the root
    /// voucher (maturity).
    #[sea_orm(indexed)]
    pub subject: String,
    /// The pledge application a margin call belongs to.
    pub parent_id: Option<String>,
    /// Supplier (financing) or depositor (pledge); obligor for maturity.
    #[sea_orm(indexed)]
    pub applicant: String,
    pub funder: Option<String>,
    pub warehouse: Option<String>,
    pub obligor: Option<String>,
    /// Financed amount or requested loan, fen.
    pub amount: i64,
    pub currency: String,
    #[sea_orm(indexed)]
    pub waiting_org: Option<String>,
    /// The party named in the process definition (`supplier`, `funder`, ...).
    pub waiting_party: Option<String>,
    /// The on-chain role the waiting organisation acts in, when the party needs one.
    pub waiting_role: Option<String>,
    pub deadline_ms: Option<i64>,
    pub created_height: i64,
    pub updated_height: i64,
    pub updated_ms: i64,
    /// The instance as the last event described it (JSON).
    pub data: String,
});

table!(workflow_party, "workflow_parties", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub instance_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: String,
});

table!(workflow_audit, "workflow_audit", {
    /// The instance whose trail this is: an event is in the trail of every instance its transaction
    /// touched (and a voucher event in its tree's maturity trail).
    #[sea_orm(primary_key, auto_increment = false)]
    pub instance_id: String,
    /// The event's id (see `indexer::event_id`): in chain order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: i64,
    pub process: String,
    #[sea_orm(indexed)]
    pub subject: String,
    /// Event kind (`FinancingApplied`, ...).
    pub kind: String,
    /// The call that made the step (`ApplyFinancing`, `Expire`, ...).
    pub action: String,
    /// Organisation that acted.
    pub actor_org: String,
    /// Account (address) that signed the transaction.
    pub signer: String,
    /// State after the step.
    pub state: String,
    pub tx_id: String,
    pub height: i64,
    /// Block time, ms since the epoch.
    pub time_ms: i64,
});

table!(notice, "notices", {
    /// The organisation told.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: String,
    /// `remind/<root>/<days>` for a maturity reminder, `<kind>/<instance>` for a workflow step.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `MaturityReminder`, `MarginCallOpened`, `MarginCallEscalated`, `PledgeLoanOverdue`,
    /// `OverdueEscalated`.
    pub kind: String,
    /// The instance or voucher tree it is about.
    pub subject: String,
    pub message: String,
    /// Block time of the block that made it (ms since the epoch).
    pub time_ms: i64,
    #[sea_orm(indexed)]
    pub height: i64,
});

table!(proposal, "proposals", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub proposer: String,
    pub title: String,
    /// `add_org`, `remove_org`, `set_member`, `add_validator`, ...
    pub kind: String,
    /// `open`, `executed`, `failed`, `rejected`, `expired`.
    #[sea_orm(indexed)]
    pub status: String,
    pub created_height: i64,
    pub updated_height: i64,
    /// The whole proposal as JSON (kind details, deadline, electorate, votes, status).
    pub data: String,
});

table!(warehouse_receipt, "warehouse_receipts", {
    /// 仓单编号.
    #[sea_orm(primary_key, auto_increment = false)]
    pub number: String,
    /// 保管人: the issuing warehouse operator organisation.
    #[sea_orm(indexed)]
    pub operator: String,
    #[sea_orm(indexed)]
    pub holder: String,
    pub depositor: String,
    pub goods_name: String,
    pub spec: String,
    pub unit: String,
    pub quantity: i64,
    pub packaging: String,
    /// Storage location: the physical warehouse code, zone (库区) and bin (货位).
    pub warehouse: String,
    pub zone: String,
    pub bin: String,
    /// `lot`, `gtin_lot` or `serials`.
    pub identity_kind: String,
    pub gtin: Option<String>,
    #[sea_orm(indexed)]
    pub lot: Option<String>,
    /// `active`, `split`, `withdrawn`.
    #[sea_orm(indexed)]
    pub status: String,
    #[sea_orm(indexed)]
    pub pledgee: Option<String>,
    pub pledge_fen: Option<i64>,
    pub pledge_currency: Option<String>,
    pub pledge_due: Option<String>,
    pub flagged: bool,
    pub flag_reason: Option<String>,
    pub frozen: bool,
    pub frozen_reason: Option<String>,
    pub parent: Option<String>,
    pub issued: String,
    pub valid_until: String,
    pub updated_height: i64,
    /// The whole receipt as the chain stores it (JSON): identity, insurance, endorsements, flag source.
    pub detail: String,
});

table!(device, "devices", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Owning organisation.
    #[sea_orm(indexed)]
    pub owner: String,
    /// `temperature`, `humidity`, `temperature_humidity`, `weight`, `location` or the other kind's name.
    pub kind: String,
    pub public_key: String,
    /// `warehouse_location`, `receipt`, `shipment`, `lot`.
    pub binding_kind: String,
    /// What the binding names: the receipt number, shipment id, lot key (`device::lot_key`) or
    /// `warehouse|zone|bin` for a location.
    #[sea_orm(indexed)]
    pub binding_ref: String,
    /// The binding as JSON.
    pub binding: String,
    /// Alert rules as JSON.
    pub rules: String,
    /// `active` or `revoked`.
    #[sea_orm(indexed)]
    pub status: String,
    pub revoked_reason: Option<String>,
    pub alerts: i64,
    pub registered_height: i64,
    pub updated_height: i64,
});

table!(device_alert, "device_alerts", {
    /// `{device_id}#{n}`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(indexed)]
    pub device_id: String,
    #[sea_orm(indexed)]
    pub owner: String,
    pub rule_index: i32,
    /// The rule that fired, as JSON.
    pub rule: String,
    /// The device's binding when the alert was raised, as JSON.
    pub binding: String,
    /// The triggering reading, as JSON.
    pub observation: String,
    pub detail: String,
    /// `receipt`, `lot`, `shipment` or `nothing`.
    pub flagged_kind: String,
    #[sea_orm(indexed)]
    pub flagged_ref: Option<String>,
    /// `open` or `cleared`.
    #[sea_orm(indexed)]
    pub status: String,
    pub cleared_reason: Option<String>,
    pub cleared_by: Option<String>,
    pub cleared_height: Option<i64>,
    pub raised_height: i64,
    pub raised_time_ms: i64,
});

// Consumer scans of serialised items: the API's own data (anonymous, untrusted, never on chain), like
// users and sessions. See `crate::serial_scans`.
table!(serial_scan, "serial_scans", {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The SGTIN's canonical Digital Link.
    #[sea_orm(indexed)]
    pub serial_key: String,
    /// Server time of the scan, ms since the epoch.
    pub time_ms: i64,
    /// Latitude and longitude in hundredths of a degree (≈ 1 km), when the consumer shared a location.
    pub lat_e2: Option<i32>,
    pub lon_e2: Option<i32>,
});

table!(serial_scan_total, "serial_scan_totals", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub serial_key: String,
    /// Every scan ever recorded (kept rows are bounded; this is not).
    pub total: i64,
    pub first_ms: i64,
});
