//! Organisation CAs and certificate revocations recorded on chain: the seam between governance (which
//! decides which certificate authorities the consortium trusts, and which certificates it revokes) and
//! the node's 国密 TLS links (which rebuild their trust from these records after every block, so a
//! decision takes effect on every node without a restart and without any file being copied around).
//!
//! The records hold DER and names only; what a certificate means (is it a CA, does it verify, which
//! serial and issuer it has) is checked by the module that writes them and by the node that reads them.
//! Both keys are rewritten whole on change, so a reader compares their bytes to notice one.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::codec::encode;
use crate::crypto::Hash32;
use crate::state::{StateError, StateRead, StateWrite};

/// State key of the trusted organisation CAs (borsh `Vec<OrgCa>`, in the order they were recorded).
pub const ORG_CAS_KEY: &[u8] = b"sys/tls/cas";
/// State key of the certificates revoked on chain (borsh `Vec<RevokedCert>`).
pub const REVOKED_CERTS_KEY: &[u8] = b"sys/tls/revoked";

/// An organisation's CA certificate that every member trusts for node-to-node and client TLS.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct OrgCa {
    /// The organisation it speaks for.
    pub org: String,
    /// The certificate (DER, SM2-with-SM3, self-signed, cA).
    pub der: Vec<u8>,
    /// SM3 of `der`: how proposals and revocations name it.
    pub fingerprint: Hash32,
    /// Its subject as text (RFC 4514), the issuer name of what it signs.
    pub subject: String,
    /// Its notAfter, ms since the epoch.
    pub not_after_ms: u64,
    /// Block height it was recorded at (0 for genesis).
    pub height: u64,
}

/// A certificate the consortium revoked, named by its issuing CA and serial.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RevokedCert {
    /// The issuing CA's fingerprint ([`OrgCa::fingerprint`]).
    pub ca: Hash32,
    /// The issuing CA's subject (what a TLS peer's certificate names as issuer).
    pub issuer: String,
    pub serial: u64,
    /// RFC 5280 CRLReason name, e.g. `keyCompromise`.
    pub reason: String,
    pub height: u64,
}

fn read<T: BorshDeserialize>(state: &dyn StateRead, key: &[u8]) -> Result<Vec<T>, StateError> {
    match state.get(key)? {
        Some(b) => borsh::from_slice(&b).map_err(|e| StateError(format!("{}: {e}", String::from_utf8_lossy(key)))),
        None => Ok(Vec::new()),
    }
}

/// The organisation CAs trusted now.
pub fn org_cas(state: &dyn StateRead) -> Result<Vec<OrgCa>, StateError> {
    read(state, ORG_CAS_KEY)
}

/// The certificates revoked on chain.
pub fn revoked_certs(state: &dyn StateRead) -> Result<Vec<RevokedCert>, StateError> {
    read(state, REVOKED_CERTS_KEY)
}

/// Replace the trusted CAs.
pub fn put_org_cas(state: &mut dyn StateWrite, cas: &[OrgCa]) {
    state.set(ORG_CAS_KEY, encode(&cas.to_vec()));
}

/// Replace the revocation list.
pub fn put_revoked_certs(state: &mut dyn StateWrite, revoked: &[RevokedCert]) {
    state.set(REVOKED_CERTS_KEY, encode(&revoked.to_vec()));
}

/// The raw bytes of both records (CAs, revocations); equal stamps mean nothing changed.
pub type Stamp = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The records' [`Stamp`] in `state`.
pub fn stamp(state: &dyn StateRead) -> Result<Stamp, StateError> {
    Ok((state.get(ORG_CAS_KEY)?, state.get(REVOKED_CERTS_KEY)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemState;

    #[test]
    fn records_round_trip_and_change_the_stamp() {
        let mut state = MemState::default();
        assert!(org_cas(&state).unwrap().is_empty());
        let before = stamp(&state).unwrap();
        let ca = OrgCa {
            org: "CORE".into(),
            der: vec![1, 2, 3],
            fingerprint: Hash32::of(&[1, 2, 3]),
            subject: "CN=CORE CA,O=CORE".into(),
            not_after_ms: 9,
            height: 0,
        };
        put_org_cas(&mut state, std::slice::from_ref(&ca));
        let revoked = RevokedCert {
            ca: ca.fingerprint,
            issuer: ca.subject.clone(),
            serial: 5,
            reason: "keyCompromise".into(),
            height: 3,
        };
        put_revoked_certs(&mut state, std::slice::from_ref(&revoked));
        assert_eq!(org_cas(&state).unwrap(), vec![ca]);
        assert_eq!(revoked_certs(&state).unwrap(), vec![revoked]);
        assert_ne!(stamp(&state).unwrap(), before);
    }
}
