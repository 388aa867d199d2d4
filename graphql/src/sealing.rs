//! Sealing and opening confidential invoice lines in the API (issue #21): the client-side half of
//! [`scf_domain::confidential`], done by the member's API on behalf of its users.
//!
//! - Issuing: the API checks the whole invoice in clear ([`invoice::validate_new_invoice`]), then seals
//!   `borsh(InvoiceLines)` under a fresh SM4-GCM data key bound to the object's AAD, wraps the data key
//!   with SM2 for the seller, the buyer (when it is a member), every regulator and every tax authority
//!   — their on-chain organisation keys — and submits [`InvoiceCall::IssueSealed`]. Sealing needs only
//!   public keys, so every member's API can issue sealed invoices.
//! - Reading: the lines are opened at query time from chain state with the private key of the caller's
//!   organisation, if this member's API holds it (`[api] org_key` in the member config; `scf demo` holds
//!   every seeded organisation's). Nothing opened is stored: the read model keeps headers only.
//! - Funders: when a holder this API holds the key for offers a voucher for financing, the API re-wraps
//!   the data key of each sealed backing invoice for the funder (`ConfidentialCall::Grant`).

use std::collections::BTreeMap;

use scf_domain::confidential::{self, Object};
use scf_domain::invoice::{self, InvoiceCall, InvoiceLines, NewInvoice, NewSealedInvoice};
use scf_domain::org::{self, Role};
use scf_domain::terms;
use scf_ledger::confidential::{self as conf, ConfidentialError, Sealed};
use scf_ledger::crypto::{KeyPair, PublicKey};
use scf_ledger::state::StateRead;

use crate::error::{ApiError, ApiResult};

/// Private keys of organisations whose confidential data this API may open, by organisation id.
#[derive(Clone, Default)]
pub struct OrgKeys(BTreeMap<String, KeyPair>);

impl std::fmt::Debug for OrgKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl OrgKeys {
    pub fn new(keys: impl IntoIterator<Item = (String, KeyPair)>) -> OrgKeys {
        OrgKeys(keys.into_iter().collect())
    }
    pub fn get(&self, org: &str) -> Option<&KeyPair> {
        self.0.get(org)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Who invoice lines are sealed for: the seller, the buyer organisation (if any), every regulator and
/// every tax authority, each with its on-chain organisation key.
pub fn line_recipients(
    state: &dyn StateRead,
    seller_org: &str,
    buyer_org: Option<&str>,
) -> ApiResult<Vec<(String, PublicKey)>> {
    let parties: Vec<(&str, &str)> = [("seller", Some(seller_org)), ("input.buyerOrg", buyer_org)]
        .into_iter()
        .filter_map(|(f, id)| Some((f, id?)))
        .collect();
    recipients(state, &parties, &[Role::Regulator, Role::TaxAuthority])
}

/// `parties` (the input field naming each, for errors; organisation id) and every organisation holding
/// one of `roles`, once each, with its on-chain organisation key.
fn recipients(state: &dyn StateRead, parties: &[(&str, &str)], roles: &[Role]) -> ApiResult<Vec<(String, PublicKey)>> {
    let mut out: Vec<(String, PublicKey)> = Vec::new();
    let mut push = |o: org::Org| {
        if !out.iter().any(|(id, _)| *id == o.id) {
            out.push((o.id, o.public_key));
        }
    };
    for (field, id) in parties {
        let o = org::load_org(state, id)?
            .ok_or_else(|| ApiError::bad_input(*field, format!("no organisation {id} on chain")))?;
        push(o);
    }
    for role in roles {
        for o in org::orgs_with_role(state, *role)? {
            push(o);
        }
    }
    Ok(out)
}

/// Validate `n` in clear, then seal its lines for `recipients`: the header keeps no lines.
pub fn seal_invoice(mut n: NewInvoice, recipients: &[(String, PublicKey)]) -> ApiResult<NewSealedInvoice> {
    invoice::validate_new_invoice(&n)
        .map_err(|e| ApiError::from_rule(scf_domain::kv::Rule::code(&e), &e.to_string()))?;
    let lines = InvoiceLines { lines: std::mem::take(&mut n.lines) };
    let line_count = u32::try_from(lines.lines.len()).map_err(|_| ApiError::bad_input("input.lines", "too many"))?;
    let object = Object::InvoiceLines { number: n.number.clone() };
    let payload = borsh::to_vec(&lines).map_err(|e| ApiError::internal("encode invoice lines", e))?;
    let keys: Vec<(&str, PublicKey)> = recipients.iter().map(|(o, k)| (o.as_str(), *k)).collect();
    let (sealed, _) = conf::seal(&object.aad(), &payload, &keys).map_err(|e| ApiError::internal("seal lines", e))?;
    Ok(NewSealedInvoice { header: n, line_count, sealed_lines: sealed })
}

/// The issue call for `n` by `seller_org`: lines sealed for everyone entitled on chain now.
pub fn sealed_issue(state: &dyn StateRead, seller_org: &str, n: NewInvoice) -> ApiResult<InvoiceCall> {
    let recipients = line_recipients(state, seller_org, n.buyer_org.as_deref())?;
    Ok(InvoiceCall::IssueSealed(seal_invoice(n, &recipients)?))
}

/// How the caller's organisation can read an invoice's lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinesRead {
    /// Issued with clear lines (before sealing was the default, or by a client that chose to).
    Clear(InvoiceLines),
    /// Sealed, and opened with the caller organisation's key.
    Opened(InvoiceLines),
    /// Sealed for the caller's organisation, but this API does not hold that organisation's key.
    NoKey,
    /// Sealed, and no data key is wrapped for the caller's organisation.
    NotARecipient,
    /// Sealed for the caller's organisation, but the key this API holds does not open it (a rotated or
    /// wrong `org_key`, or a corrupted wrapped key).
    CannotOpen,
    /// No lines on chain.
    Missing,
}

/// Read the lines of invoice `number` as organisation `org`.
pub fn read_lines(state: &dyn StateRead, number: &str, org: &str, keys: &OrgKeys) -> ApiResult<LinesRead> {
    if let Some(sealed) = invoice::load_sealed_lines(state, number)? {
        return open_lines(&sealed, number, org, keys);
    }
    Ok(match invoice::load_lines(state, number)? {
        Some(l) => LinesRead::Clear(l),
        None => LinesRead::Missing,
    })
}

fn open_lines(sealed: &Sealed, number: &str, org: &str, keys: &OrgKeys) -> ApiResult<LinesRead> {
    if sealed.wrapped_for(org).is_none() {
        return Ok(LinesRead::NotARecipient);
    }
    let Some(key) = keys.get(org) else { return Ok(LinesRead::NoKey) };
    let object = Object::InvoiceLines { number: number.to_string() };
    match conf::open(sealed, &object.aad(), org, key) {
        Ok(opened) => {
            let lines: InvoiceLines =
                borsh::from_slice(&opened.payload).map_err(|e| ApiError::internal("decode opened invoice lines", e))?;
            Ok(LinesRead::Opened(lines))
        }
        Err(ConfidentialError::UnwrapFailed { .. } | ConfidentialError::KeyCheckMismatch { .. }) => {
            tracing::warn!(number, org, "the organisation key this API holds does not open the sealed lines");
            Ok(LinesRead::CannotOpen)
        }
        Err(e) => Err(ApiError::internal("open invoice lines", e)),
    }
}

/// The grants that give `funder` a key to the sealed lines of every invoice backing voucher `voucher_id`,
/// re-wrapped by `holder` (whose key this API must hold). Invoices with clear lines, already granted, or
/// not sealed for the holder are skipped.
pub fn funder_grants(
    state: &dyn StateRead,
    voucher_id: &str,
    holder: &str,
    funder: &str,
    keys: &OrgKeys,
) -> ApiResult<Vec<confidential::ConfidentialCall>> {
    let Some(key) = keys.get(holder) else { return Ok(Vec::new()) };
    let Some(v) = scf_domain::voucher::load_voucher(state, voucher_id)? else { return Ok(Vec::new()) };
    let Some(f) = org::load_org(state, funder)? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for number in &v.invoices {
        let Some(sealed) = invoice::load_sealed_lines(state, number)? else { continue };
        if sealed.wrapped_for(funder).is_some() || sealed.wrapped_for(holder).is_none() {
            continue;
        }
        let w = conf::rewrap(&sealed, holder, key, funder, &f.public_key)
            .map_err(|e| ApiError::internal("re-wrap invoice lines key", e))?;
        out.push(confidential::ConfidentialCall::Grant {
            object: Object::InvoiceLines { number: number.clone() },
            org: funder.to_string(),
            wrapped_key: w.wrapped,
            via_voucher: Some(voucher_id.to_string()),
        });
    }
    Ok(out)
}

/// Who sealed financial terms are for: `parties` (organisation ids) and every regulator, each with its
/// on-chain organisation key.
pub fn terms_recipients(state: &dyn StateRead, parties: &[&str]) -> ApiResult<Vec<(String, PublicKey)>> {
    let parties: Vec<(&str, &str)> = parties.iter().map(|id| ("org", *id)).collect();
    recipients(state, &parties, &[Role::Regulator])
}

/// Seal `value` under `scope` ([`scf_domain::terms`]) for `parties` and every regulator.
pub fn seal_terms<T: borsh::BorshSerialize>(
    state: &dyn StateRead,
    scope: &str,
    value: &T,
    parties: &[&str],
) -> ApiResult<Sealed> {
    let recipients = terms_recipients(state, parties)?;
    let keys: Vec<(&str, PublicKey)> = recipients.iter().map(|(o, k)| (o.as_str(), *k)).collect();
    let payload = borsh::to_vec(value).map_err(|e| ApiError::internal("encode terms", e))?;
    let (sealed, _) =
        conf::seal(&terms::aad(scope), &payload, &keys).map_err(|e| ApiError::internal("seal terms", e))?;
    Ok(sealed)
}

/// How the caller's organisation can read sealed terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermsRead<T> {
    Opened(T),
    /// Sealed for the caller's organisation, but this API does not hold that organisation's key.
    NoKey,
    /// Not sealed for the caller's organisation.
    NotARecipient,
    /// The key this API holds does not open them, or they do not decode (bound to another record).
    CannotOpen,
}

impl<T> TermsRead<T> {
    pub fn opened(self) -> Option<T> {
        match self {
            TermsRead::Opened(t) => Some(t),
            _ => None,
        }
    }
    /// `opened`, `no_key`, `not_a_recipient` or `cannot_open`: what the API tells a caller.
    pub fn access(&self) -> &'static str {
        match self {
            TermsRead::Opened(_) => "opened",
            TermsRead::NoKey => "no_key",
            TermsRead::NotARecipient => "not_a_recipient",
            TermsRead::CannotOpen => "cannot_open",
        }
    }
}

/// Open sealed terms of `scope` as organisation `org`.
pub fn open_terms<T: borsh::BorshDeserialize>(sealed: &Sealed, scope: &str, org: &str, keys: &OrgKeys) -> TermsRead<T> {
    if sealed.wrapped_for(org).is_none() {
        return TermsRead::NotARecipient;
    }
    let Some(key) = keys.get(org) else { return TermsRead::NoKey };
    match conf::open(sealed, &terms::aad(scope), org, key) {
        Ok(opened) => match borsh::from_slice(&opened.payload) {
            Ok(t) => TermsRead::Opened(t),
            Err(_) => {
                tracing::warn!(scope, org, "sealed terms opened but do not decode");
                TermsRead::CannotOpen
            }
        },
        Err(_) => {
            tracing::warn!(scope, org, "sealed terms do not open with the organisation key this API holds");
            TermsRead::CannotOpen
        }
    }
}
