//! Demo seeds: the consortium (`seeds/consortium.toml`) and its story (`seeds/story.toml` plus EPCIS
//! documents) turned into a genesis and a dated list of signed business steps.
//!
//! The seeds are data, not code: every step names the acting organisation, the module and the module's
//! own call (the same Borsh call enums transactions carry, read here from TOML through serde). Keys are
//! derived deterministically from the organisation id so a restarted demo finds the same accounts; this
//! is acceptable for a demo only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scf_domain::date::Date;
use scf_domain::org::Role;
use scf_ledger::crypto::{KeyPair, PublicKey};
use scf_ledger::genesis::{ChainParams, Genesis, Validator};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{file}: {reason}")]
    Read { file: PathBuf, reason: String },
    #[error("{file}: {field}: {reason}")]
    Invalid { file: PathBuf, field: String, reason: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consortium {
    pub chain_id: String,
    pub genesis_date: String,
    pub demo_password: String,
    #[serde(default)]
    pub approved_funders: Vec<String>,
    pub org: Vec<SeedOrg>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOrg {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub roles: Vec<Role>,
    /// (username, role) pairs; role is admin | operator | viewer.
    #[serde(default)]
    pub users: Vec<(String, String)>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Story {
    #[serde(default)]
    epcis: Vec<EpcisSeed>,
    #[serde(default)]
    step: Vec<StepSeed>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EpcisSeed {
    date: String,
    file: String,
    recorders: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSeed {
    date: String,
    #[serde(rename = "as")]
    actor: String,
    module: String,
    call: toml::Value,
}

/// One business step ready to sign: who, when, which module, the encoded call.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub date: Date,
    pub actor: String,
    pub module: String,
    pub payload: Vec<u8>,
    /// Human-readable summary for progress output.
    pub label: String,
}

/// A demo user to create in the API's user table.
#[derive(Debug, Clone)]
pub struct SeedUser {
    pub org: String,
    pub username: String,
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub consortium: Consortium,
    pub genesis: Genesis,
    pub users: Vec<SeedUser>,
    /// Steps sorted by date (stable: file order within a date).
    pub steps: Vec<PlannedStep>,
}

/// The demo key of an organisation.
pub fn org_key(id: &str) -> KeyPair {
    KeyPair::from_seed(&format!("demo/org/{id}"))
}

/// The demo custodial key of a user.
pub fn user_key(org: &str, username: &str) -> KeyPair {
    KeyPair::from_seed(&format!("demo/user/{org}/{username}"))
}

/// Block time (ms) of 10:00 Beijing time on `date`, plus `offset_ms` to order steps within a day.
pub fn business_time_ms(date: Date, offset_ms: u64) -> u64 {
    (date.0 as i64 * 86_400_000 + 2 * 3_600_000) as u64 + offset_ms
}

fn read(path: &Path) -> Result<String, SeedError> {
    std::fs::read_to_string(path).map_err(|e| SeedError::Read { file: path.to_path_buf(), reason: e.to_string() })
}

fn date(file: &Path, field: &str, s: &str) -> Result<Date, SeedError> {
    Date::parse(s).ok_or_else(|| SeedError::Invalid {
        file: file.to_path_buf(),
        field: field.into(),
        reason: format!("{s:?} is not a date YYYY-MM-DD"),
    })
}

fn encode_call(file: &Path, field: &str, module: &str, call: toml::Value) -> Result<Vec<u8>, SeedError> {
    let invalid = |reason: String| SeedError::Invalid { file: file.to_path_buf(), field: field.to_string(), reason };
    macro_rules! typed {
        ($t:ty) => {{
            let c: $t = call.try_into().map_err(|e: toml::de::Error| invalid(e.to_string()))?;
            Ok(scf_domain::kv::encode_call(&c))
        }};
    }
    match module {
        "voucher" => typed!(scf_domain::voucher::VoucherCall),
        "invoice" => typed!(scf_domain::invoice::InvoiceCall),
        "warehouse" => typed!(scf_domain::warehouse::WarehouseCall),
        "org" => typed!(scf_domain::org::OrgCall),
        other => Err(invalid(format!("module {other:?} has no seed format"))),
    }
}

/// Load `dir/consortium.toml` and `dir/story.toml`; `validator` is the demo node's consensus key.
pub fn load(dir: &Path, validator: &PublicKey) -> Result<SeedPlan, SeedError> {
    let cpath = dir.join("consortium.toml");
    let consortium: Consortium = toml::from_str(&read(&cpath)?).map_err(|e| SeedError::Invalid {
        file: cpath.clone(),
        field: "toml".into(),
        reason: e.to_string(),
    })?;
    let genesis_date = date(&cpath, "genesis_date", &consortium.genesis_date)?;

    let orgs: Vec<serde_json::Value> = consortium
        .org
        .iter()
        .map(|o| {
            let accounts: Vec<serde_json::Value> = o
                .users
                .iter()
                .map(|(u, role)| {
                    serde_json::json!({
                        "public_key": user_key(&o.id, u).public().to_hex(),
                        "label": u,
                        "admin": role == "admin",
                    })
                })
                .collect();
            serde_json::json!({
                "id": o.id,
                "name": o.name,
                "credit_code": o.credit_code,
                "roles": o.roles,
                "public_key": org_key(&o.id).public().to_hex(),
                "accounts": accounts,
            })
        })
        .collect();
    let mut app_state = BTreeMap::new();
    app_state.insert(
        "org".to_string(),
        serde_json::json!({ "orgs": orgs, "approved_funders": consortium.approved_funders }),
    );
    let genesis = Genesis {
        chain_id: consortium.chain_id.clone(),
        genesis_time_ms: business_time_ms(genesis_date, 0),
        params: ChainParams::default(),
        validators: vec![Validator { name: "demo-validator".into(), public_key: *validator, power: 1, peer_id: None }],
        app_state,
    };
    let users = consortium
        .org
        .iter()
        .flat_map(|o| o.users.iter().map(|(u, r)| SeedUser { org: o.id.clone(), username: u.clone(), role: r.clone() }))
        .collect();

    let spath = dir.join("story.toml");
    let story: Story = toml::from_str(&read(&spath)?).map_err(|e| SeedError::Invalid {
        file: spath.clone(),
        field: "toml".into(),
        reason: e.to_string(),
    })?;
    let known: std::collections::BTreeSet<&str> = consortium.org.iter().map(|o| o.id.as_str()).collect();
    let mut steps = Vec::new();
    for (i, e) in story.epcis.iter().enumerate() {
        let field = format!("epcis[{i}]");
        let d = date(&spath, &format!("{field}.date"), &e.date)?;
        let path = dir.join(&e.file);
        let events = scf_domain::provenance::epcis::import(&read(&path)?).map_err(|err| SeedError::Invalid {
            file: path.clone(),
            field: "EPCIS".into(),
            reason: err.to_string(),
        })?;
        if events.len() != e.recorders.len() {
            return Err(SeedError::Invalid {
                file: spath.clone(),
                field: format!("{field}.recorders"),
                reason: format!("{} recorders for {} events", e.recorders.len(), events.len()),
            });
        }
        for (ev, who) in events.iter().zip(&e.recorders) {
            if !known.contains(who.as_str()) {
                return Err(SeedError::Invalid {
                    file: spath.clone(),
                    field: format!("{field}.recorders"),
                    reason: format!("no organisation {who}"),
                });
            }
            let call = scf_domain::provenance::ProvenanceCall::Capture(scf_domain::provenance::CapturedEvent {
                event: ev.to_json_text(),
                hash: ev.hash.clone(),
            });
            steps.push(PlannedStep {
                date: d,
                actor: who.clone(),
                module: "provenance".into(),
                payload: scf_domain::kv::encode_call(&call),
                label: format!("EPCIS {} by {who}", ev.hash),
            });
        }
    }
    for (i, s) in story.step.iter().enumerate() {
        let field = format!("step[{i}]");
        let d = date(&spath, &format!("{field}.date"), &s.date)?;
        if !known.contains(s.actor.as_str()) {
            return Err(SeedError::Invalid {
                file: spath.clone(),
                field: format!("{field}.as"),
                reason: format!("no organisation {}", s.actor),
            });
        }
        let label = format!("{} {} by {}", s.module, call_name(&s.call), s.actor);
        let payload = encode_call(&spath, &format!("{field}.call"), &s.module, s.call.clone())?;
        steps.push(PlannedStep { date: d, actor: s.actor.clone(), module: s.module.clone(), payload, label });
    }
    steps.sort_by_key(|s| s.date);
    if let Some(first) = steps.first() {
        if first.date <= genesis_date {
            return Err(SeedError::Invalid {
                file: spath,
                field: "step.date".into(),
                reason: "steps must come after genesis_date".into(),
            });
        }
    }
    Ok(SeedPlan { consortium, genesis, users, steps })
}

fn call_name(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => t.keys().next().cloned().unwrap_or_default(),
        toml::Value::String(s) => s.clone(),
        _ => String::new(),
    }
}
