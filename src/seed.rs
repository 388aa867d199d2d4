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
use scf_ledger::confidential::Sealed;
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
    /// `"ORG/account"`: the machine account the IoT ingestion service signs with.
    pub ingest_account: String,
    /// `"ORG/account"`: the machine account the workflow timer service signs with.
    pub timer_account: String,
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
    /// Accounts of services (no login), keyed like users.
    #[serde(default)]
    pub service_accounts: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Story {
    #[serde(default)]
    epcis: Vec<EpcisSeed>,
    #[serde(default)]
    step: Vec<StepSeed>,
    #[serde(default)]
    device: Vec<DeviceSeed>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceSeed {
    id: String,
    owner: String,
    date: String,
    kind: scf_domain::device::DeviceKind,
    binding: scf_domain::device::Binding,
    #[serde(default)]
    rules: Vec<scf_domain::device::AlertRule>,
    simulate: Simulation,
}

/// How `scf demo` drives a seeded device: nominal values every `every_s` seconds, and optionally one
/// excursion per start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Simulation {
    pub every_s: u64,
    /// °C.
    pub temperature: f64,
    /// %RH.
    pub humidity: i64,
    #[serde(default)]
    pub excursion: Option<Excursion>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Excursion {
    pub after_s: u64,
    pub for_s: u64,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub humidity: Option<i64>,
}

/// A seeded device the demo simulates.
#[derive(Debug, Clone)]
pub struct DemoDevice {
    pub id: String,
    pub owner: String,
    pub binding: scf_domain::device::Binding,
    pub simulate: Simulation,
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
    pub devices: Vec<DemoDevice>,
    /// The seeds directory this plan was read from.
    pub source: PathBuf,
}

/// The demo key of an organisation.
pub fn org_key(id: &str) -> KeyPair {
    KeyPair::from_seed(&format!("demo/org/{id}"))
}

/// The demo custodial key of a user.
pub fn user_key(org: &str, username: &str) -> KeyPair {
    KeyPair::from_seed(&format!("demo/user/{org}/{username}"))
}

/// The demo key of a seeded device (the "firmware" key the simulator signs with).
pub fn device_key(id: &str) -> KeyPair {
    KeyPair::from_seed(&format!("demo/device/{id}"))
}

/// `(org, key)` of a service account named `"ORG/account"`.
pub fn service_key(account: &str) -> Option<(String, KeyPair)> {
    let (org, name) = account.split_once('/')?;
    Some((org.to_string(), user_key(org, name)))
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
        // Master data and recalls; events come from `[[epcis]]` documents.
        "provenance" => typed!(scf_domain::provenance::ProvenanceCall),
        other => Err(invalid(format!("module {other:?} has no seed format"))),
    }
}

/// An invoice number and its sealed lines.
type NumberedSeal = (String, Sealed);

/// An `invoice` step. The story writes invoices with their lines, as a seller's system has them; the
/// chain receives what the API would submit: the header in clear and the lines sealed (SM4-GCM) for the
/// seller, the buyer and every regulator and tax authority of the consortium (their demo keys), so the
/// demo chain holds no plaintext line.
fn invoice_payload(
    file: &Path,
    field: &str,
    consortium: &Consortium,
    seller: &str,
    call: toml::Value,
) -> Result<(Vec<u8>, Option<NumberedSeal>), SeedError> {
    use scf_domain::invoice::InvoiceCall;
    let invalid = |reason: String| SeedError::Invalid { file: file.to_path_buf(), field: field.to_string(), reason };
    let call: InvoiceCall = call.try_into().map_err(|e: toml::de::Error| invalid(e.to_string()))?;
    let n = match call {
        InvoiceCall::Issue(n) => n,
        other => return Ok((scf_domain::kv::encode_call(&other), None)),
    };
    let entitled = |o: &SeedOrg| {
        o.id == seller
            || n.buyer_org.as_deref() == Some(o.id.as_str())
            || o.roles.iter().any(|r| matches!(r, Role::Regulator | Role::TaxAuthority))
    };
    let recipients: Vec<(String, PublicKey)> =
        consortium.org.iter().filter(|o| entitled(o)).map(|o| (o.id.clone(), *org_key(&o.id).public())).collect();
    let sealed = scf_graphql::sealing::seal_invoice(n, &recipients).map_err(|e| invalid(e.message()))?;
    let kept = (sealed.header.number.clone(), sealed.sealed_lines.clone());
    Ok((scf_domain::kv::encode_call(&InvoiceCall::IssueSealed(sealed)), Some(kept)))
}

/// What the seed plan follows about each voucher to seal its financing figures as the API would.
struct VoucherFacts {
    amount: u64,
    due: Date,
    holder: String,
    /// (funder, rate in bp) of the pending offer.
    offer: Option<(String, u32)>,
}

/// Seal `payload` under the terms `scope` for `parties` and every regulator of the consortium.
fn seal_for(
    consortium: &Consortium,
    scope: &str,
    payload: &impl borsh::BorshSerialize,
    parties: &[&str],
) -> Result<Sealed, String> {
    let mut orgs: Vec<&str> = parties.to_vec();
    for o in &consortium.org {
        if o.roles.contains(&Role::Regulator) && !orgs.contains(&o.id.as_str()) {
            orgs.push(&o.id);
        }
    }
    let keys: Vec<(&str, PublicKey)> = orgs.iter().map(|o| (*o, *org_key(o).public())).collect();
    let payload = borsh::to_vec(payload).map_err(|e| e.to_string())?;
    scf_ledger::confidential::seal(&scf_domain::terms::aad(scope), &payload, &keys)
        .map(|(s, _)| s)
        .map_err(|e| e.to_string())
}

/// A `voucher` or `warehouse` step with figures: the story writes them in clear, as a bank's or a
/// depositor's system has them; the chain receives what the API would submit — the offer's rate, the
/// financing's figures and the pledge's loan sealed for the parties and every regulator (their demo
/// keys). `None` for any other step (encoded as written). Follows vouchers' amounts, due dates, holders
/// and offers to compute a financing's figures as the chain does in clear.
#[allow(clippy::too_many_arguments)]
fn terms_payload(
    file: &Path,
    field: &str,
    consortium: &Consortium,
    date: Date,
    actor: &str,
    module: &str,
    call: &toml::Value,
    facts: &mut BTreeMap<String, VoucherFacts>,
) -> Result<Option<Vec<u8>>, SeedError> {
    use scf_domain::terms::{self, DiscountTerms, LoanTerms, RateTerms};
    use scf_domain::voucher::VoucherCall;
    use scf_domain::warehouse::WarehouseCall;
    let invalid = |reason: String| SeedError::Invalid { file: file.to_path_buf(), field: field.to_string(), reason };
    if module == scf_domain::warehouse::MODULE {
        let Ok(WarehouseCall::Pledge { number, funder, amount, due }) = call.clone().try_into::<WarehouseCall>() else {
            return Ok(None);
        };
        let loan = LoanTerms { loan_amount: amount.fen, currency: amount.currency, pledge_rate_bp: None };
        loan.check(None).map_err(|e| invalid(e.to_string()))?;
        let loan = seal_for(consortium, &terms::pledge_scope(&number), &loan, &[actor, &funder]).map_err(invalid)?;
        return Ok(Some(scf_domain::kv::encode_call(&WarehouseCall::PledgeSealed { number, funder, loan, due })));
    }
    if module != scf_domain::voucher::MODULE {
        return Ok(None);
    }
    let Ok(call) = call.clone().try_into::<VoucherCall>() else { return Ok(None) };
    match call {
        VoucherCall::Issue { voucher_no, to, amount, due_date, .. } => {
            facts.insert(voucher_no, VoucherFacts { amount, due: due_date, holder: to, offer: None });
            Ok(None)
        }
        VoucherCall::Split { voucher_id, parts } => {
            if let Some(due) = facts.get(&voucher_id).map(|f| f.due) {
                for (i, p) in parts.iter().enumerate() {
                    let f = VoucherFacts { amount: p.amount, due, holder: p.to.clone(), offer: None };
                    facts.insert(format!("{voucher_id}.{}", i + 1), f);
                }
            }
            Ok(None)
        }
        VoucherCall::Transfer { voucher_id, to } => {
            if let Some((amount, due)) = facts.get(&voucher_id).map(|f| (f.amount, f.due)) {
                facts.insert(format!("{voucher_id}.1"), VoucherFacts { amount, due, holder: to, offer: None });
            }
            Ok(None)
        }
        VoucherCall::OfferFinancing { voucher_id, funder, discount_rate_bp, agreement_ref } => {
            let rate = RateTerms { rate_bp: discount_rate_bp };
            let sealed =
                seal_for(consortium, &terms::offer_scope(&voucher_id), &rate, &[actor, &funder]).map_err(invalid)?;
            if let Some(f) = facts.get_mut(&voucher_id) {
                f.offer = Some((funder.clone(), discount_rate_bp));
            }
            Ok(Some(scf_domain::kv::encode_call(&VoucherCall::OfferFinancingSealed {
                voucher_id,
                funder,
                rate: sealed,
                agreement_ref,
            })))
        }
        VoucherCall::AcceptFinancing { voucher_id } => {
            let f = facts.get(&voucher_id).ok_or_else(|| {
                invalid(format!("voucher {voucher_id} was not issued, split or transferred earlier in the story"))
            })?;
            let (funder, rate) = f
                .offer
                .clone()
                .ok_or_else(|| invalid(format!("voucher {voucher_id} has no offer earlier in the story")))?;
            let days = u32::try_from(date.days_until(f.due))
                .map_err(|_| invalid(format!("voucher {voucher_id} has matured")))?;
            let figures = DiscountTerms::compute(f.amount, rate, days).map_err(|e| invalid(e.to_string()))?;
            let terms = seal_for(consortium, &terms::financing_scope(&voucher_id), &figures, &[&f.holder, &funder])
                .map_err(invalid)?;
            if let Some(f) = facts.get_mut(&voucher_id) {
                f.holder = funder;
                f.offer = None;
            }
            Ok(Some(scf_domain::kv::encode_call(&VoucherCall::AcceptFinancingSealed { voucher_id, terms })))
        }
        _ => Ok(None),
    }
}

/// Follow the invoices behind each voucher (an issued root names them, split parts inherit them) and,
/// for a financing offer, the grants by which each sealed invoice's seller gives the funder a key.
fn funder_grants(
    call: &scf_domain::voucher::VoucherCall,
    voucher_invoices: &mut BTreeMap<String, Vec<String>>,
    sealed_invoices: &BTreeMap<String, (String, Sealed)>,
) -> Vec<(String, scf_domain::confidential::ConfidentialCall)> {
    use scf_domain::voucher::VoucherCall;
    match call {
        VoucherCall::Issue { voucher_no, invoices, .. } => {
            voucher_invoices.insert(voucher_no.clone(), invoices.clone());
            Vec::new()
        }
        VoucherCall::Split { voucher_id, parts } => {
            let invoices = voucher_invoices.get(voucher_id).cloned().unwrap_or_default();
            for i in 0..parts.len() {
                voucher_invoices.insert(format!("{voucher_id}.{}", i + 1), invoices.clone());
            }
            Vec::new()
        }
        VoucherCall::Transfer { voucher_id, .. } => {
            let invoices = voucher_invoices.get(voucher_id).cloned().unwrap_or_default();
            voucher_invoices.insert(format!("{voucher_id}.1"), invoices);
            Vec::new()
        }
        VoucherCall::OfferFinancing { voucher_id, funder, .. } => {
            let mut out = Vec::new();
            for number in voucher_invoices.get(voucher_id).into_iter().flatten() {
                let Some((seller, sealed)) = sealed_invoices.get(number) else { continue };
                let object = scf_domain::confidential::Object::InvoiceLines { number: number.clone() };
                let Ok(w) = scf_ledger::confidential::rewrap(
                    sealed,
                    seller,
                    &org_key(seller),
                    funder,
                    org_key(funder).public(),
                ) else {
                    continue;
                };
                out.push((
                    seller.clone(),
                    scf_domain::confidential::ConfidentialCall::Grant {
                        object,
                        org: funder.clone(),
                        wrapped_key: w.wrapped,
                        via_voucher: Some(voucher_id.clone()),
                    },
                ));
            }
            out
        }
        _ => Vec::new(),
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
                .map(|(u, role)| (u, role == "admin"))
                .chain(o.service_accounts.iter().map(|a| (a, false)))
                .map(|(u, admin)| {
                    serde_json::json!({
                        "public_key": user_key(&o.id, u).public().to_hex(),
                        "label": u,
                        "admin": admin,
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
    // Sealed seeded invoices (number → seller, sealed lines) and the invoices behind each voucher, so a
    // financing offer can be followed by the seller granting the funder a key, as the API does.
    let mut sealed_invoices = BTreeMap::new();
    let mut voucher_invoices: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut voucher_facts: BTreeMap<String, VoucherFacts> = BTreeMap::new();
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
        let payload = if s.module == scf_domain::invoice::MODULE {
            let (payload, sealed) =
                invoice_payload(&spath, &format!("{field}.call"), &consortium, &s.actor, s.call.clone())?;
            if let Some((number, sealed)) = sealed {
                sealed_invoices.insert(number, (s.actor.clone(), sealed));
            }
            payload
        } else if let Some(sealed) = terms_payload(
            &spath,
            &format!("{field}.call"),
            &consortium,
            d,
            &s.actor,
            &s.module,
            &s.call,
            &mut voucher_facts,
        )? {
            sealed
        } else {
            encode_call(&spath, &format!("{field}.call"), &s.module, s.call.clone())?
        };
        steps.push(PlannedStep { date: d, actor: s.actor.clone(), module: s.module.clone(), payload, label });
        if s.module == scf_domain::voucher::MODULE {
            if let Ok(call) = s.call.clone().try_into::<scf_domain::voucher::VoucherCall>() {
                for (seller, grant) in funder_grants(&call, &mut voucher_invoices, &sealed_invoices) {
                    steps.push(PlannedStep {
                        date: d,
                        actor: seller.clone(),
                        module: scf_domain::confidential::MODULE.into(),
                        payload: scf_domain::kv::encode_call(&grant),
                        label: format!("confidential Grant by {seller}"),
                    });
                }
            }
        }
    }
    let (ingest_org, ingest) = service_account(&consortium, &cpath, "ingest_account", &consortium.ingest_account)?;
    let mut authorised = std::collections::BTreeSet::new();
    let mut devices = Vec::new();
    for (i, d) in story.device.iter().enumerate() {
        let field = format!("device[{i}]");
        let when = date(&spath, &format!("{field}.date"), &d.date)?;
        if !known.contains(d.owner.as_str()) {
            return Err(SeedError::Invalid {
                file: spath.clone(),
                field: format!("{field}.owner"),
                reason: format!("no organisation {}", d.owner),
            });
        }
        if d.simulate.every_s == 0 {
            return Err(SeedError::Invalid {
                file: spath.clone(),
                field: format!("{field}.simulate.every_s"),
                reason: "must be at least 1".into(),
            });
        }
        let register = scf_domain::device::DeviceCall::Register {
            device_id: d.id.clone(),
            public_key: *device_key(&d.id).public(),
            kind: d.kind.clone(),
            binding: d.binding.clone(),
            rules: d.rules.clone(),
        };
        steps.push(PlannedStep {
            date: when,
            actor: d.owner.clone(),
            module: scf_domain::device::MODULE.into(),
            payload: scf_domain::kv::encode_call(&register),
            label: format!("device Register {} by {}", d.id, d.owner),
        });
        if d.owner != ingest_org && authorised.insert(d.owner.clone()) {
            let call = scf_domain::device::DeviceCall::AuthoriseIngestor { address: ingest.address() };
            steps.push(PlannedStep {
                date: when,
                actor: d.owner.clone(),
                module: scf_domain::device::MODULE.into(),
                payload: scf_domain::kv::encode_call(&call),
                label: format!("device AuthoriseIngestor {} by {}", consortium.ingest_account, d.owner),
            });
        }
        devices.push(DemoDevice {
            id: d.id.clone(),
            owner: d.owner.clone(),
            binding: d.binding.clone(),
            simulate: d.simulate.clone(),
        });
    }
    service_account(&consortium, &cpath, "timer_account", &consortium.timer_account)?;
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
    Ok(SeedPlan { consortium, genesis, users, steps, devices, source: dir.to_path_buf() })
}

/// Check that `"ORG/account"` names a service account listed under that organisation.
fn service_account(
    consortium: &Consortium,
    file: &Path,
    field: &str,
    account: &str,
) -> Result<(String, KeyPair), SeedError> {
    let invalid = |reason: String| SeedError::Invalid { file: file.to_path_buf(), field: field.into(), reason };
    let (Some((org, name)), Some(found)) = (account.split_once('/'), service_key(account)) else {
        return Err(invalid(format!("{account:?} is not ORG/account")));
    };
    let listed = consortium.org.iter().any(|o| o.id == org && o.service_accounts.iter().any(|a| a == name));
    if !listed {
        return Err(invalid(format!("{account:?}: no service account {name:?} under organisation {org:?}")));
    }
    Ok(found)
}

fn call_name(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => t.keys().next().cloned().unwrap_or_default(),
        toml::Value::String(s) => s.clone(),
        _ => String::new(),
    }
}
