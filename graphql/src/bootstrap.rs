//! Setting up a consortium for the demo and tests: each organisation's first admin user gets a
//! custodial key that *is* the organisation key in the genesis, so the admin can sign from day one
//! (and register further users' keys as accounts).

use std::collections::BTreeMap;

use scf_domain::org::{GenesisOrg, OrgGenesis, Role};
use scf_ledger::crypto::KeyPair;
use scf_ledger::genesis::{ChainParams, Genesis, Validator};
use sea_orm::DatabaseConnection;

use crate::auth::{self, NewUser, UserRole};
use crate::error::{ApiError, ApiResult};

/// One member organisation and its first admin login.
#[derive(Clone, Debug)]
pub struct OrgSpec {
    pub id: String,
    pub name: String,
    /// 18-character 统一社会信用代码.
    pub credit_code: String,
    pub roles: Vec<Role>,
    pub approved_funder: bool,
    pub admin_username: String,
    pub admin_password: String,
}

/// Create the admin users (with sealed custodial keys) and the genesis that registers their
/// organisations with those keys. The validator key is returned for the node to use.
pub async fn consortium(
    db: &DatabaseConnection,
    node_key: &[u8; 16],
    chain_id: &str,
    genesis_time_ms: u64,
    orgs: &[OrgSpec],
) -> ApiResult<(Genesis, KeyPair)> {
    let (genesis, validator, _) = consortium_with_org_keys(db, node_key, chain_id, genesis_time_ms, orgs).await?;
    Ok((genesis, validator))
}

/// As [`consortium`], also returning every organisation's key (for [`crate::Config::org_keys`], so the
/// API opens each organisation's sealed invoice lines).
pub async fn consortium_with_org_keys(
    db: &DatabaseConnection,
    node_key: &[u8; 16],
    chain_id: &str,
    genesis_time_ms: u64,
    orgs: &[OrgSpec],
) -> ApiResult<(Genesis, KeyPair, crate::sealing::OrgKeys)> {
    let mut org_keys = Vec::new();
    let mut genesis_orgs = Vec::new();
    let mut funders = Vec::new();
    for o in orgs {
        let key = KeyPair::generate().map_err(|e| ApiError::internal("keygen", e))?;
        let new = NewUser {
            org_id: o.id.clone(),
            username: o.admin_username.clone(),
            password: o.admin_password.clone(),
            role: UserRole::Admin,
        };
        auth::insert_user(db, node_key, &new, &key).await?;
        genesis_orgs.push(GenesisOrg {
            id: o.id.clone(),
            name: o.name.clone(),
            credit_code: o.credit_code.clone(),
            roles: o.roles.clone(),
            public_key: *key.public(),
            accounts: Vec::new(),
            ca_certs: Vec::new(),
        });
        if o.approved_funder {
            funders.push(o.id.clone());
        }
        org_keys.push((o.id.clone(), key));
    }
    let validator = KeyPair::generate().map_err(|e| ApiError::internal("keygen", e))?;
    let org_genesis = OrgGenesis { orgs: genesis_orgs, approved_funders: funders };
    let mut app_state = BTreeMap::new();
    app_state.insert(
        scf_domain::org::MODULE.to_string(),
        serde_json::to_value(&org_genesis).map_err(|e| ApiError::internal("genesis", e))?,
    );
    let genesis = Genesis {
        chain_id: chain_id.to_string(),
        genesis_time_ms,
        params: ChainParams::default(),
        validators: vec![Validator { name: "dev".into(), public_key: *validator.public(), power: 1, peer_id: None }],
        app_state,
    };
    Ok((genesis, validator, crate::sealing::OrgKeys::new(org_keys)))
}
