//! "Waiting for me": the task inbox of an organisation, of one of its roles, or of a user (an account,
//! resolved to its organisation on chain). These are the data functions the GraphQL layer calls; they
//! read only the service's store (and, for a user, the account record at the chain tip).

use scf_domain::org;
use scf_ledger::crypto::Address;
use scf_ledger::state::StateRead;

use crate::store::{InstanceView, WorkflowStore, WorkflowsError};

impl WorkflowStore {
    /// Open instances waiting for `org`, most urgent deadline first (no deadline last).
    pub fn inbox_for_org(&self, org_id: &str) -> Result<Vec<InstanceView>, WorkflowsError> {
        let mut items: Vec<InstanceView> =
            self.instances()?.into_iter().filter(|i| !i.terminal && i.waiting_org.as_deref() == Some(org_id)).collect();
        items.sort_by_key(|i| (i.deadline_ms.unwrap_or(u64::MAX), i.id.clone()));
        Ok(items)
    }

    /// Open instances waiting for `org` acting in `role` (e.g. `funder`, `warehouse_operator`).
    pub fn inbox_for_role(&self, org_id: &str, role: &str) -> Result<Vec<InstanceView>, WorkflowsError> {
        Ok(self
            .inbox_for_org(org_id)?
            .into_iter()
            .filter(|i| i.waiting_role.as_deref().is_none_or(|r| r == role))
            .collect())
    }

    /// Open instances waiting for the organisation of the user with account `address`; empty for an
    /// unknown or inactive account.
    pub fn inbox_for_user(
        &self,
        state: &dyn StateRead,
        address: &Address,
    ) -> Result<Vec<InstanceView>, WorkflowsError> {
        let Ok((_, o)) = org::signer(state, address) else { return Ok(Vec::new()) };
        Ok(self
            .inbox_for_org(&o.id)?
            .into_iter()
            .filter(|i| i.waiting_role.as_deref().is_none_or(|r| o.roles.iter().any(|x| x.as_str() == r)))
            .collect())
    }
}
