//! Organisations, their roles and their accounts, read from chain state; and the approved-funder list.
//!
//! Every signed transaction comes from an *account* (an SM2 key) that belongs to exactly one
//! organisation. Operations in other modules call [`require_role`] to learn the signer's organisation and
//! check its role. Organisations come from genesis (later: governance); the organisation's own key is
//! its first admin account; admins add and remove their users' accounts (custodial keys for portal users
//! are accounts too). The regulator approves funders and freezes accounts.

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::crypto::{Address, PublicKey};
use scf_ledger::module::{BusinessModule, Event, ModuleCall, ModuleError, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::kv::{self, Rule, StoreError};

pub const MODULE: &str = "org";

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 核心企业: issues receivable vouchers (obligor).
    CoreEnterprise,
    /// 供应商, any tier.
    Supplier,
    /// Bank or factoring company (资金方).
    Funder,
    /// 仓储方 / 保管人.
    WarehouseOperator,
    Logistics,
    /// 税务.
    TaxAuthority,
    /// 监管: reads everything, freezes.
    Regulator,
    /// Farm, factory or brand owner recording provenance.
    Producer,
    Retailer,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::CoreEnterprise => "core_enterprise",
            Role::Supplier => "supplier",
            Role::Funder => "funder",
            Role::WarehouseOperator => "warehouse_operator",
            Role::Logistics => "logistics",
            Role::TaxAuthority => "tax_authority",
            Role::Regulator => "regulator",
            Role::Producer => "producer",
            Role::Retailer => "retailer",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OrgStatus {
    Active,
    Frozen { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Org {
    /// Short stable id, e.g. `AUTO-OEM` (1..=32 of A-Z 0-9 - _).
    pub id: String,
    pub name: String,
    /// 统一社会信用代码 (18 characters).
    pub credit_code: String,
    pub roles: Vec<Role>,
    /// The organisation's key: its first admin account, and the key data keys are wrapped for.
    pub public_key: PublicKey,
    pub status: OrgStatus,
}

impl Org {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Removed,
    Frozen { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Account {
    pub address: Address,
    pub public_key: PublicKey,
    pub org_id: String,
    pub label: String,
    pub admin: bool,
    pub status: AccountStatus,
}

/// Calls of the `org` module.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum OrgCall {
    /// Org admin adds a user's key to its organisation.
    AddAccount {
        public_key: PublicKey,
        label: String,
        admin: bool,
    },
    /// Org admin removes one of its accounts.
    RemoveAccount {
        address: Address,
    },
    /// Regulator adds a funder organisation to the approved-funder list.
    ApproveFunder {
        org_id: String,
    },
    /// Regulator removes a funder from the list.
    RevokeFunder {
        org_id: String,
    },
    /// Regulator freezes an account (it can sign nothing until unfrozen).
    FreezeAccount {
        address: Address,
        reason: String,
    },
    UnfreezeAccount {
        address: Address,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signer: account {address} is not registered with any organisation")]
    UnknownAccount { address: Address },
    #[error("signer: account {address} is {state}")]
    AccountInactive { address: Address, state: &'static str },
    #[error("signer: organisation {org} is frozen: {reason}")]
    OrgFrozen { org: String, reason: String },
    #[error("signer: organisation {org} lacks the {role} role")]
    MissingRole { org: String, role: &'static str },
    #[error("signer: only an admin account of {org} may do this")]
    NotAdmin { org: String },
    #[error("org_id: no organisation {org:?}")]
    UnknownOrg { org: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("public_key: account {address} already belongs to {org}")]
    AccountExists { address: Address, org: String },
    #[error("address: account {address} does not belong to {org}")]
    NotOwnAccount { address: Address, org: String },
    #[error("org_id: {org} does not have the funder role")]
    NotAFunder { org: String },
    #[error(
        "signer: key {address} was rotated and is refused after height {retired_after} (replaced by {replaced_by:?})"
    )]
    KeyRetired { address: Address, retired_after: u64, replaced_by: Option<Address> },
    #[error("signer: key {address} expired at {expires_at_ms} ms")]
    KeyExpired { address: Address, expires_at_ms: u64 },
}

impl Rule for OrgError {
    fn code(&self) -> &'static str {
        match self {
            OrgError::Store(e) => e.code(),
            OrgError::UnknownAccount { .. } => "UNKNOWN_ACCOUNT",
            OrgError::AccountInactive { .. } => "ACCOUNT_INACTIVE",
            OrgError::OrgFrozen { .. } => "ORG_FROZEN",
            OrgError::MissingRole { .. } => "MISSING_ROLE",
            OrgError::NotAdmin { .. } => "NOT_ORG_ADMIN",
            OrgError::UnknownOrg { .. } => "UNKNOWN_ORG",
            OrgError::Invalid { .. } => "INVALID_FIELD",
            OrgError::AccountExists { .. } => "ACCOUNT_EXISTS",
            OrgError::NotOwnAccount { .. } => "NOT_OWN_ACCOUNT",
            OrgError::NotAFunder { .. } => "NOT_A_FUNDER",
            OrgError::KeyRetired { .. } => "ACCOUNT_KEY_RETIRED",
            OrgError::KeyExpired { .. } => "ACCOUNT_KEY_EXPIRED",
        }
    }
}

fn org_key(id: &str) -> String {
    format!("org/o/{id}")
}
fn account_key(addr: &Address) -> String {
    format!("org/a/{}", addr.to_hex())
}
fn funder_key(id: &str) -> String {
    format!("org/funder/{id}")
}
const ORG_LIST_KEY: &str = "org/list";

pub fn load_org(state: &dyn StateRead, id: &str) -> Result<Option<Org>, StoreError> {
    kv::get(state, &org_key(id))
}
pub fn load_account(state: &dyn StateRead, addr: &Address) -> Result<Option<Account>, StoreError> {
    kv::get(state, &account_key(addr))
}
/// Every organisation id, in registration order.
pub fn org_ids(state: &dyn StateRead) -> Result<Vec<String>, StoreError> {
    Ok(kv::get(state, ORG_LIST_KEY)?.unwrap_or_default())
}
pub fn is_approved_funder(state: &dyn StateRead, id: &str) -> Result<bool, StoreError> {
    Ok(kv::get::<u64>(state, &funder_key(id))?.is_some())
}
/// The organisation with a role, e.g. to find the regulator.
pub fn orgs_with_role(state: &dyn StateRead, role: Role) -> Result<Vec<Org>, StoreError> {
    let mut out = Vec::new();
    for id in org_ids(state)? {
        if let Some(o) = load_org(state, &id)? {
            if o.has_role(role) {
                out.push(o);
            }
        }
    }
    Ok(out)
}

/// The signer's active account and active organisation.
pub fn signer(state: &dyn StateRead, address: &Address) -> Result<(Account, Org), OrgError> {
    let acct = load_account(state, address)?.ok_or(OrgError::UnknownAccount { address: *address })?;
    match &acct.status {
        AccountStatus::Active => {}
        AccountStatus::Removed => return Err(OrgError::AccountInactive { address: *address, state: "removed" }),
        AccountStatus::Frozen { .. } => return Err(OrgError::AccountInactive { address: *address, state: "frozen" }),
    }
    let org = load_org(state, &acct.org_id)?.ok_or_else(|| OrgError::UnknownOrg { org: acct.org_id.clone() })?;
    if let OrgStatus::Frozen { reason } = &org.status {
        return Err(OrgError::OrgFrozen { org: org.id.clone(), reason: reason.clone() });
    }
    Ok((acct, org))
}

/// The chain's admission rule ([`scf_ledger::module::SenderPolicy`]): a sender is an active account of
/// an active organisation whose key is neither retired nor expired — what [`signer_at`] demands of every
/// call, asked before the signature is checked. Its quota group is its organisation. Devices sign
/// readings, not transactions: their ingestors are service accounts of an organisation.
pub struct MemberAccounts;

impl scf_ledger::module::SenderPolicy for MemberAccounts {
    fn admit(
        &self,
        state: &dyn StateRead,
        sender: &Address,
        height: u64,
        time_ms: u64,
    ) -> Result<String, scf_ledger::executor::TxRejection> {
        use scf_ledger::executor::TxRejection;
        let refuse = |e: OrgError| match e {
            OrgError::UnknownAccount { .. } => TxRejection::UnknownSender { address: *sender },
            other => TxRejection::SenderInactive { address: *sender, reason: other.to_string() },
        };
        let (_, org) = signer(state, sender).map_err(refuse)?;
        crate::keys::check_usable(state, sender, height, time_ms).map_err(refuse)?;
        Ok(org.id)
    }
}

/// The signer of a transaction in its block: as [`signer`], and its key neither retired after its
/// announced height nor expired ([`crate::keys::check_usable`]). Every call checks its signer this way.
pub fn signer_at(state: &dyn StateRead, ctx: &TxContext) -> Result<(Account, Org), OrgError> {
    let found = signer(state, &ctx.sender_address)?;
    crate::keys::check_usable(state, &ctx.sender_address, ctx.height, ctx.time_ms)?;
    Ok(found)
}

/// Store a changed organisation record (governance: key rotation, removal).
pub fn save_org(state: &mut dyn StateWrite, org: &Org) {
    kv::put(state, &org_key(&org.id), org);
}

/// Add an account to an organisation (key rotation); refuses a key already in use.
pub fn add_account(
    state: &mut dyn StateWrite,
    org_id: &str,
    public_key: PublicKey,
    label: String,
    admin: bool,
) -> Result<Account, OrgError> {
    add_account_unchecked(state, org_id, public_key, label, admin)
}

/// The signer's organisation, which must hold `role`.
pub fn require_role(state: &dyn StateRead, ctx: &TxContext, role: Role) -> Result<Org, OrgError> {
    let (_, org) = signer_at(state, ctx)?;
    if !org.has_role(role) {
        return Err(OrgError::MissingRole { org: org.id.clone(), role: role.as_str() });
    }
    Ok(org)
}

/// The signer's organisation, whatever its roles.
pub fn signer_org(state: &dyn StateRead, ctx: &TxContext) -> Result<Org, OrgError> {
    signer_at(state, ctx).map(|(_, o)| o)
}

fn valid_org_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Register an organisation (genesis and governance). Its key becomes its first admin account.
pub fn register_org(state: &mut dyn StateWrite, org: Org) -> Result<Event, OrgError> {
    if !valid_org_id(&org.id) {
        return Err(OrgError::Invalid {
            field: "id".into(),
            reason: format!("{:?} must be 1..=32 of A-Z 0-9 - _", org.id),
        });
    }
    if org.name.trim().is_empty() {
        return Err(OrgError::Invalid { field: "name".into(), reason: "must not be empty".into() });
    }
    if org.credit_code.chars().count() != 18 {
        return Err(OrgError::Invalid {
            field: "credit_code".into(),
            reason: "统一社会信用代码 must be 18 characters".into(),
        });
    }
    if org.roles.is_empty() {
        return Err(OrgError::Invalid { field: "roles".into(), reason: "at least one role".into() });
    }
    if load_org(state, &org.id)?.is_some() {
        return Err(OrgError::Invalid {
            field: "id".into(),
            reason: format!("organisation {} already exists", org.id),
        });
    }
    let mut ids = org_ids(state)?;
    ids.push(org.id.clone());
    kv::put(state, ORG_LIST_KEY, &ids);
    add_account_unchecked(state, &org.id, org.public_key, "organisation key".into(), true)?;
    kv::put(state, &org_key(&org.id), &org);
    Ok(kv::event(MODULE, "OrgRegistered", &[("org", &org.id)], &org))
}

fn add_account_unchecked(
    state: &mut dyn StateWrite,
    org_id: &str,
    public_key: PublicKey,
    label: String,
    admin: bool,
) -> Result<Account, OrgError> {
    let address = public_key.address();
    if let Some(existing) = load_account(state, &address)? {
        if existing.status != AccountStatus::Removed {
            return Err(OrgError::AccountExists { address, org: existing.org_id });
        }
    }
    let acct = Account { address, public_key, org_id: org_id.to_string(), label, admin, status: AccountStatus::Active };
    kv::put(state, &account_key(&address), &acct);
    Ok(acct)
}

/// Put a funder on the approved list (genesis and regulator).
pub fn approve_funder(state: &mut dyn StateWrite, org_id: &str, height: u64) -> Result<(), OrgError> {
    let org = load_org(state, org_id)?.ok_or_else(|| OrgError::UnknownOrg { org: org_id.into() })?;
    if !org.has_role(Role::Funder) {
        return Err(OrgError::NotAFunder { org: org_id.into() });
    }
    kv::put(state, &funder_key(org_id), &height);
    Ok(())
}

/// Genesis section of the `org` module.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgGenesis {
    #[serde(default)]
    pub orgs: Vec<GenesisOrg>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_funders: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisOrg {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub roles: Vec<Role>,
    pub public_key: PublicKey,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<GenesisAccount>,
    /// The organisation's CA certificates (PEM), trusted by nodes with `p2p.tls_trust_on_chain`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_certs: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    pub public_key: PublicKey,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub admin: bool,
}

impl OrgGenesis {
    /// Organisations with the given ids and roles, public keys from `key_of`, names and credit codes
    /// derived from the ids, and every funder approved: a consortium for tests, tools and benchmarks.
    pub fn of(orgs: &[(&str, &[Role])], key_of: impl Fn(&str) -> PublicKey) -> OrgGenesis {
        OrgGenesis {
            orgs: orgs
                .iter()
                .map(|(id, roles)| GenesisOrg {
                    id: id.to_string(),
                    name: format!("{id} 有限公司"),
                    credit_code: derived_credit_code(id),
                    roles: roles.to_vec(),
                    public_key: key_of(id),
                    accounts: Vec::new(),
                    ca_certs: Vec::new(),
                })
                .collect(),
            approved_funders: orgs
                .iter()
                .filter(|(_, roles)| roles.contains(&Role::Funder))
                .map(|(id, _)| id.to_string())
                .collect(),
        }
    }

    /// A genesis of chain `chain_id` at `genesis_time_ms` with these organisations and validators.
    pub fn genesis(
        &self,
        chain_id: &str,
        genesis_time_ms: u64,
        validators: Vec<scf_ledger::genesis::Validator>,
    ) -> scf_ledger::genesis::Genesis {
        scf_ledger::genesis::Genesis {
            chain_id: chain_id.to_string(),
            genesis_time_ms,
            params: Default::default(),
            validators,
            app_state: [(MODULE.to_string(), serde_json::to_value(self).unwrap_or_default())].into_iter().collect(),
        }
    }
}

/// A unique 18-character 统一社会信用代码 derived from an organisation id (`9131` and 14 hex digits
/// of SM3(id)), for consortia made up in tests, tools and benchmarks.
pub fn derived_credit_code(id: &str) -> String {
    let h = scf_ledger::crypto::sm3(id.as_bytes());
    format!("9131{}", hex::encode(&h[..7]).to_uppercase())
}

pub struct OrgModule;

impl ModuleCall for OrgCall {
    const MODULE: &'static str = MODULE;
}

impl BusinessModule for OrgModule {
    type Call = OrgCall;
    type Error = OrgError;

    fn init_genesis(state: &mut dyn StateWrite, config: &serde_json::Value) -> Result<(), ModuleError> {
        if config.is_null() {
            return Ok(());
        }
        let g: OrgGenesis = serde_json::from_value(config.clone())
            .map_err(|e| ModuleError::new("BAD_GENESIS", format!("app_state.org: {e}")))?;
        for (n, o) in g.orgs.into_iter().enumerate() {
            let accounts = o.accounts.clone();
            let ca_certs = o.ca_certs.clone();
            let id = o.id.clone();
            register_org(
                state,
                Org {
                    id: o.id,
                    name: o.name,
                    credit_code: o.credit_code,
                    roles: o.roles,
                    public_key: o.public_key,
                    status: OrgStatus::Active,
                },
            )
            .map_err(Rule::into_module_error)?;
            for a in accounts {
                add_account_unchecked(state, &id, a.public_key, a.label, a.admin).map_err(Rule::into_module_error)?;
            }
            for (i, pem) in ca_certs.iter().enumerate() {
                let field = format!("app_state.org.orgs[{n}].ca_certs[{i}]");
                let cert = scf_ca::SmCertificate::from_pem(pem)
                    .map_err(|e| ModuleError::new("BAD_GENESIS", format!("{field}: {e}")))?;
                crate::org_ca::add(state, &id, cert.der(), 0)
                    .map_err(|e| ModuleError::new("BAD_GENESIS", format!("{field}: {e}")))?;
            }
        }
        for f in g.approved_funders {
            approve_funder(state, &f, 0).map_err(Rule::into_module_error)?;
        }
        Ok(())
    }

    fn apply(ctx: &TxContext, state: &mut dyn StateWrite, call: OrgCall) -> Result<Vec<Event>, OrgError> {
        match call {
            OrgCall::AddAccount { public_key, label, admin } => {
                let (acct, org) = signer_at(state, ctx)?;
                if !acct.admin {
                    return Err(OrgError::NotAdmin { org: org.id });
                }
                if label.chars().count() > 64 {
                    return Err(OrgError::Invalid { field: "label".into(), reason: "at most 64 characters".into() });
                }
                let new = add_account_unchecked(state, &org.id, public_key, label, admin)?;
                Ok(vec![kv::event(
                    MODULE,
                    "AccountAdded",
                    &[("org", &org.id), ("account", &new.address.to_hex())],
                    &new,
                )])
            }
            OrgCall::RemoveAccount { address } => {
                let (acct, org) = signer_at(state, ctx)?;
                if !acct.admin {
                    return Err(OrgError::NotAdmin { org: org.id });
                }
                let mut target = load_account(state, &address)?.ok_or(OrgError::UnknownAccount { address })?;
                if target.org_id != org.id {
                    return Err(OrgError::NotOwnAccount { address, org: org.id });
                }
                if target.public_key == org.public_key {
                    return Err(OrgError::Invalid {
                        field: "address".into(),
                        reason: "the organisation key cannot be removed (rotate it through governance)".into(),
                    });
                }
                target.status = AccountStatus::Removed;
                kv::put(state, &account_key(&address), &target);
                Ok(vec![kv::event(
                    MODULE,
                    "AccountRemoved",
                    &[("org", &org.id), ("account", &address.to_hex())],
                    &target,
                )])
            }
            OrgCall::ApproveFunder { org_id } => {
                let reg = require_role(state, ctx, Role::Regulator)?;
                approve_funder(state, &org_id, ctx.height)?;
                Ok(vec![kv::event(MODULE, "FunderApproved", &[("org", &org_id), ("org", &reg.id)], &org_id)])
            }
            OrgCall::RevokeFunder { org_id } => {
                let reg = require_role(state, ctx, Role::Regulator)?;
                if !is_approved_funder(state, &org_id)? {
                    return Err(OrgError::Invalid {
                        field: "org_id".into(),
                        reason: format!("{org_id} is not an approved funder"),
                    });
                }
                kv::delete(state, &funder_key(&org_id));
                Ok(vec![kv::event(MODULE, "FunderRevoked", &[("org", &org_id), ("org", &reg.id)], &org_id)])
            }
            OrgCall::FreezeAccount { address, reason } => {
                let reg = require_role(state, ctx, Role::Regulator)?;
                if reason.trim().is_empty() {
                    return Err(OrgError::Invalid { field: "reason".into(), reason: "a freeze needs a reason".into() });
                }
                let mut target = load_account(state, &address)?.ok_or(OrgError::UnknownAccount { address })?;
                target.status = AccountStatus::Frozen { reason: reason.clone() };
                kv::put(state, &account_key(&address), &target);
                Ok(vec![kv::event(
                    MODULE,
                    "AccountFrozen",
                    &[("org", &target.org_id), ("org", &reg.id), ("account", &address.to_hex())],
                    &serde_json::json!({ "account": address, "org": target.org_id, "reason": reason }),
                )])
            }
            OrgCall::UnfreezeAccount { address, reason } => {
                let reg = require_role(state, ctx, Role::Regulator)?;
                let mut target = load_account(state, &address)?.ok_or(OrgError::UnknownAccount { address })?;
                if !matches!(target.status, AccountStatus::Frozen { .. }) {
                    return Err(OrgError::Invalid {
                        field: "address".into(),
                        reason: format!("account {address} is not frozen"),
                    });
                }
                target.status = AccountStatus::Active;
                kv::put(state, &account_key(&address), &target);
                Ok(vec![kv::event(
                    MODULE,
                    "AccountUnfrozen",
                    &[("org", &target.org_id), ("org", &reg.id), ("account", &address.to_hex())],
                    &serde_json::json!({ "account": address, "org": target.org_id, "reason": reason }),
                )])
            }
        }
    }
}
