//! Confidential fields on chain: sealed values, who may read them, and granting access to one more
//! organisation without re-encrypting anything.
//!
//! All state is replicated to every node, so the guarantee "a non-entitled organisation's node never
//! sees plaintext" is kept by never letting plaintext into a transaction or the state: clients seal
//! values with [`scf_ledger::confidential::seal`] (SM4-GCM under a fresh data key, the key wrapped with
//! SM2 for each entitled organisation) and the chain stores only the ciphertext, the SM3 commitment and
//! the wrapped keys. What the chain *does* enforce is who may be a recipient: every wrapped key must be
//! for an entitled organisation, the regulator must always be one, and a [`ConfidentialCall::Grant`]
//! (a recipient re-wraps the data key for another entitled organisation) is checked against the same
//! rule. The chain cannot check that a wrapped key really opens the data; the stored `key_check` lets
//! each recipient detect a bad one.
//!
//! Entitlement per object:
//! - invoice lines: the seller and the buyer, every regulator and tax authority, and a funder the
//!   invoice backs once financing is applied for (a voucher backed by the invoice is offered to, or was
//!   financed by, that funder — named in the grant as `via_voucher`).

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::confidential::{Sealed, WrappedKey, WRAPPED_KEY_LEN};
use scf_ledger::module::{BusinessModule, Event, ModuleCall, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::invoice;
use crate::kv::{self, Rule, StoreError};
use crate::org::{self, OrgError, Role};
use crate::voucher;

pub const MODULE: &str = "confidential";

/// Largest sealed ciphertext accepted (the transaction limit bounds it anyway).
pub const MAX_CIPHERTEXT: usize = 60 * 1024;
/// Most recipients one sealed value may have.
pub const MAX_RECIPIENTS: usize = 64;

/// A confidential object on chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Object {
    /// The line items and prices of an invoice.
    InvoiceLines { number: String },
}

impl Object {
    fn state_key(&self) -> String {
        match self {
            Object::InvoiceLines { number } => format!("conf/invoice-lines/{number}"),
        }
    }
    /// The AAD the ciphertext is bound to: clients seal and open with exactly these bytes.
    pub fn aad(&self) -> Vec<u8> {
        match self {
            Object::InvoiceLines { number } => format!("invoice/lines/{number}").into_bytes(),
        }
    }
    pub fn describe(&self) -> String {
        match self {
            Object::InvoiceLines { number } => format!("invoice {number} lines"),
        }
    }
}

/// Why an organisation may read an object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum Entitlement {
    Party,
    Regulator,
    TaxAuthority,
    Funder { voucher: String },
}

/// Calls of the `confidential` module.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum ConfidentialCall {
    /// A recipient of `object` wraps its data key for another entitled organisation.
    Grant {
        object: Object,
        org: String,
        /// SM2 ciphertext of the data key under `org`'s public key ([`scf_ledger::confidential::rewrap`]).
        wrapped_key: Vec<u8>,
        /// For a funder: the voucher backed by the invoice that was offered to (or financed by) it.
        via_voucher: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfidentialError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error("object: no sealed {object}")]
    NotFound { object: String },
    #[error("org: {org} is not entitled to read {object}: {reason}")]
    NotEntitled { org: String, object: String, reason: String },
    #[error("signer: {org} holds no key to {object}, so it cannot grant access")]
    NotARecipient { org: String, object: String },
    #[error("org: {org} already has a key to {object}")]
    AlreadyGranted { org: String, object: String },
    #[error("wrapped_keys: {org} must be a recipient of {object} ({why})")]
    MissingRecipient { org: String, object: String, why: &'static str },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

impl Rule for ConfidentialError {
    fn code(&self) -> &'static str {
        match self {
            ConfidentialError::Store(e) => e.code(),
            ConfidentialError::Org(e) => e.code(),
            ConfidentialError::NotFound { .. } => "CONFIDENTIAL_NOT_FOUND",
            ConfidentialError::NotEntitled { .. } => "CONFIDENTIAL_NOT_ENTITLED",
            ConfidentialError::NotARecipient { .. } => "CONFIDENTIAL_NOT_A_RECIPIENT",
            ConfidentialError::AlreadyGranted { .. } => "CONFIDENTIAL_ALREADY_GRANTED",
            ConfidentialError::MissingRecipient { .. } => "CONFIDENTIAL_RECIPIENT_MISSING",
            ConfidentialError::Invalid { .. } => "CONFIDENTIAL_INVALID",
        }
    }
}

/// The sealed value of an object (ciphertext, commitment, wrapped keys), if any.
pub fn load_sealed(state: &dyn StateRead, object: &Object) -> Result<Option<Sealed>, StoreError> {
    kv::get(state, &object.state_key())
}

/// Organisations holding a key to `object`.
pub fn recipients(state: &dyn StateRead, object: &Object) -> Result<Vec<String>, StoreError> {
    Ok(load_sealed(state, object)?.map(|s| s.recipients().map(str::to_string).collect()).unwrap_or_default())
}

fn not_entitled(org: &str, object: &Object, reason: impl Into<String>) -> ConfidentialError {
    ConfidentialError::NotEntitled { org: org.to_string(), object: object.describe(), reason: reason.into() }
}

/// Is `org` entitled to read `object`? `via_voucher` names the financing that entitles a funder.
pub fn entitlement(
    state: &dyn StateRead,
    object: &Object,
    org_id: &str,
    via_voucher: Option<&str>,
) -> Result<Entitlement, ConfidentialError> {
    let o = org::load_org(state, org_id)?.ok_or_else(|| OrgError::UnknownOrg { org: org_id.to_string() })?;
    match object {
        Object::InvoiceLines { number } => {
            let inv = invoice::load_invoice(state, number)?
                .ok_or_else(|| ConfidentialError::NotFound { object: object.describe() })?;
            if inv.seller_org == org_id || inv.buyer_org.as_deref() == Some(org_id) {
                return Ok(Entitlement::Party);
            }
            if o.has_role(Role::Regulator) {
                return Ok(Entitlement::Regulator);
            }
            if o.has_role(Role::TaxAuthority) {
                return Ok(Entitlement::TaxAuthority);
            }
            let Some(vid) = via_voucher else {
                return Err(not_entitled(org_id, object, "not a party, regulator or tax authority"));
            };
            let v = voucher::load_voucher(state, vid)?
                .ok_or_else(|| not_entitled(org_id, object, format!("no voucher {vid}")))?;
            if !v.invoices.iter().any(|n| n == number) {
                return Err(not_entitled(org_id, object, format!("voucher {vid} is not backed by invoice {number}")));
            }
            let offered = v.offer.as_ref().is_some_and(|f| f.funder == org_id);
            let financed = v.financing.as_ref().is_some_and(|f| f.funder == org_id);
            if offered || financed {
                Ok(Entitlement::Funder { voucher: vid.to_string() })
            } else {
                Err(not_entitled(
                    org_id,
                    object,
                    format!("financing of voucher {vid} was not applied for with {org_id}"),
                ))
            }
        }
    }
}

fn check_wrapped(w: &WrappedKey) -> Result<(), ConfidentialError> {
    if w.wrapped.len() != WRAPPED_KEY_LEN {
        return Err(ConfidentialError::Invalid {
            field: format!("wrapped_keys[{}]", w.org),
            reason: format!("{} bytes; an SM2-wrapped data key is {WRAPPED_KEY_LEN}", w.wrapped.len()),
        });
    }
    Ok(())
}

/// Check a newly submitted sealed value: bounded sizes, every recipient entitled and named once, and
/// every organisation in `required` (with why) a recipient — the regulator always is.
pub fn check_new(
    state: &dyn StateRead,
    object: &Object,
    sealed: &Sealed,
    required: &[(&str, &'static str)],
) -> Result<(), ConfidentialError> {
    if sealed.ciphertext.len() < 12 + 16 || sealed.ciphertext.len() > MAX_CIPHERTEXT {
        return Err(ConfidentialError::Invalid {
            field: "ciphertext".into(),
            reason: format!("{} bytes; must be 28..={MAX_CIPHERTEXT}", sealed.ciphertext.len()),
        });
    }
    if sealed.wrapped_keys.len() > MAX_RECIPIENTS {
        return Err(ConfidentialError::Invalid {
            field: "wrapped_keys".into(),
            reason: format!("at most {MAX_RECIPIENTS} recipients"),
        });
    }
    for (i, w) in sealed.wrapped_keys.iter().enumerate() {
        check_wrapped(w)?;
        if sealed.wrapped_keys[..i].iter().any(|o| o.org == w.org) {
            return Err(ConfidentialError::Invalid {
                field: format!("wrapped_keys[{}]", w.org),
                reason: "organisation named twice".into(),
            });
        }
        entitlement(state, object, &w.org, None)?;
    }
    let regulators = org::orgs_with_role(state, Role::Regulator)?;
    let must = required
        .iter()
        .map(|(o, why)| (o.to_string(), *why))
        .chain(regulators.into_iter().map(|r| (r.id, "regulator")));
    for (org, why) in must {
        if sealed.wrapped_for(&org).is_none() {
            return Err(ConfidentialError::MissingRecipient { org, object: object.describe(), why });
        }
    }
    Ok(())
}

/// Store a sealed value checked by [`check_new`].
pub fn store(state: &mut dyn StateWrite, object: &Object, sealed: &Sealed) {
    kv::put(state, &object.state_key(), sealed);
}

fn grant(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    object: Object,
    org_id: String,
    wrapped_key: Vec<u8>,
    via_voucher: Option<String>,
) -> Result<Vec<Event>, ConfidentialError> {
    let me = org::signer_org(state, ctx)?;
    let mut sealed =
        load_sealed(state, &object)?.ok_or_else(|| ConfidentialError::NotFound { object: object.describe() })?;
    if sealed.wrapped_for(&me.id).is_none() {
        return Err(ConfidentialError::NotARecipient { org: me.id, object: object.describe() });
    }
    if sealed.wrapped_for(&org_id).is_some() {
        return Err(ConfidentialError::AlreadyGranted { org: org_id, object: object.describe() });
    }
    if sealed.wrapped_keys.len() >= MAX_RECIPIENTS {
        return Err(ConfidentialError::Invalid {
            field: "wrapped_keys".into(),
            reason: format!("at most {MAX_RECIPIENTS} recipients"),
        });
    }
    let w = WrappedKey { org: org_id.clone(), wrapped: wrapped_key };
    check_wrapped(&w)?;
    let basis = entitlement(state, &object, &org_id, via_voucher.as_deref())?;
    sealed.wrapped_keys.push(w);
    store(state, &object, &sealed);
    let key = object.state_key();
    Ok(vec![kv::event(
        MODULE,
        "AccessGranted",
        &[("object", &key), ("org", &org_id), ("org", &me.id)],
        &serde_json::json!({ "object": object, "org": org_id, "granted_by": me.id, "entitlement": basis }),
    )])
}

pub struct ConfidentialModule;

impl ModuleCall for ConfidentialCall {
    const MODULE: &'static str = MODULE;
}

impl BusinessModule for ConfidentialModule {
    type Call = ConfidentialCall;
    type Error = ConfidentialError;

    fn apply(
        ctx: &TxContext,
        state: &mut dyn StateWrite,
        call: ConfidentialCall,
    ) -> Result<Vec<Event>, ConfidentialError> {
        match call {
            ConfidentialCall::Grant { object, org, wrapped_key, via_voucher } => {
                grant(ctx, state, object, org, wrapped_key, via_voucher)
            }
        }
    }
}
