//! Key material of a node: the SM2 consensus key (PKCS#8 PEM), the libp2p identity (ed25519, hex of
//! the libp2p protobuf encoding) and the public validator bundle that binds the two.
//!
//! The bundle carries a Malachite validator proof: the consensus key's SM2 signature over
//! `"PoV" ‖ len ‖ public key ‖ len ‖ peer id`. `scf genesis` refuses a validator whose proof does not
//! verify, so the genesis file only lists peer ids that the consensus key holder vouched for; at run
//! time Malachite exchanges the same proof when peers connect.

use std::fs;
use std::path::{Path, PathBuf};

use libp2p_identity::{Keypair as P2pKeypair, PeerId};
use malachitebft_codec::Codec;
use malachitebft_core_types::ValidatorProof;
use scf_ledger::crypto::{KeyPair, PublicKey};
use serde::{Deserialize, Serialize};

use crate::codec::ScfCodec;
use crate::context::ScfContext;
use crate::signing::Sm2Signer;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("validator bundle {field}: {reason}")]
    Bundle { field: &'static str, reason: String },
}

fn file_err(path: &Path, reason: impl ToString) -> KeyError {
    KeyError::File { path: path.to_path_buf(), reason: reason.to_string() }
}

pub fn read_consensus_key(path: &Path) -> Result<KeyPair, KeyError> {
    let pem = fs::read_to_string(path).map_err(|e| file_err(path, e))?;
    KeyPair::from_pkcs8_pem(&pem).map_err(|e| file_err(path, format!("not an SM2 PKCS#8 key: {e}")))
}

pub fn write_consensus_key(path: &Path, key: &KeyPair) -> Result<(), KeyError> {
    let pem = key.to_pkcs8_pem().map_err(|e| file_err(path, e))?;
    write_secret(path, pem.as_bytes())
}

pub fn read_p2p_key(path: &Path) -> Result<P2pKeypair, KeyError> {
    let text = fs::read_to_string(path).map_err(|e| file_err(path, e))?;
    let bytes = hex::decode(text.trim()).map_err(|e| file_err(path, format!("not hex: {e}")))?;
    P2pKeypair::from_protobuf_encoding(&bytes).map_err(|e| file_err(path, format!("not a libp2p key: {e}")))
}

pub fn write_p2p_key(path: &Path, key: &P2pKeypair) -> Result<(), KeyError> {
    let bytes = key.to_protobuf_encoding().map_err(|e| file_err(path, e))?;
    write_secret(path, hex::encode(bytes).as_bytes())
}

/// Create `path` (which must not exist: a key is never silently replaced) owner-only from the first
/// byte — the mode is set when the file is created, not after the secret is in it — and sync it.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    write_new(path, bytes, true)
}

fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), KeyError> {
    use std::io::Write;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = secret;
    let mut f = opts.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => file_err(path, "already exists; refusing to overwrite a key"),
        _ => file_err(path, e),
    })?;
    f.write_all(bytes).map_err(|e| file_err(path, e))?;
    f.sync_all().map_err(|e| file_err(path, e))
}

/// The public half of a validator's keys, as handed to whoever builds the genesis file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorBundle {
    pub name: String,
    /// SM2 consensus public key, hex of the 65-byte SEC1 point.
    pub public_key: PublicKey,
    /// libp2p peer id (base58).
    pub peer_id: String,
    /// Malachite validator proof, hex.
    pub proof: String,
    #[serde(default = "one")]
    pub power: u64,
}

fn one() -> u64 {
    1
}

impl ValidatorBundle {
    pub fn new(name: &str, consensus: &KeyPair, p2p: &P2pKeypair, power: u64) -> Result<Self, KeyError> {
        let peer_id = p2p.public().to_peer_id();
        let proof = Sm2Signer::new(consensus.clone()).validator_proof(peer_id.to_bytes());
        let bytes = ScfCodec.encode(&proof).map_err(|e| KeyError::Bundle { field: "proof", reason: e.to_string() })?;
        Ok(ValidatorBundle {
            name: name.to_string(),
            public_key: *consensus.public(),
            peer_id: peer_id.to_base58(),
            proof: hex::encode(bytes),
            power,
        })
    }

    /// Check that the proof is the consensus key's signature binding it to `peer_id`.
    pub fn verify(&self) -> Result<(), KeyError> {
        let bad = |field, reason: &str| KeyError::Bundle { field, reason: reason.to_string() };
        let peer: PeerId = self.peer_id.parse().map_err(|_| bad("peer_id", "not a libp2p peer id"))?;
        let raw = hex::decode(&self.proof).map_err(|_| bad("proof", "not hex"))?;
        let proof: ValidatorProof<ScfContext> = Codec::<ValidatorProof<ScfContext>>::decode(&ScfCodec, raw.into())
            .map_err(|e| KeyError::Bundle { field: "proof", reason: e.to_string() })?;
        if proof.public_key != self.public_key.as_bytes().to_vec() {
            return Err(bad("proof", "signed for another consensus key"));
        }
        if proof.peer_id != peer.to_bytes() {
            return Err(bad("proof", "signed for another peer id"));
        }
        self.public_key
            .verify(&proof.preimage(), &proof.signature.into())
            .map_err(|_| bad("proof", "SM2 signature does not verify"))?;
        if self.power == 0 {
            return Err(bad("power", "must be positive"));
        }
        Ok(())
    }

    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(|e| file_err(path, e))?;
        serde_json::from_str(&text).map_err(|e| file_err(path, e))
    }
}

/// Generate a node's keys into `dir`: `consensus.pem` (omitted for observers), `p2p.key`, and for
/// validators `validator.json`. Returns the bundle for validators.
pub fn generate(dir: &Path, name: &str, validator: bool) -> Result<Option<ValidatorBundle>, KeyError> {
    fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    let p2p = P2pKeypair::generate_ed25519();
    write_p2p_key(&dir.join("p2p.key"), &p2p)?;
    if !validator {
        return Ok(None);
    }
    let key = KeyPair::generate().map_err(|e| file_err(dir, e))?;
    write_consensus_key(&dir.join("consensus.pem"), &key)?;
    let bundle = ValidatorBundle::new(name, &key, &p2p, 1)?;
    let path = dir.join("validator.json");
    let json = serde_json::to_string_pretty(&bundle).map_err(|e| file_err(&path, e))?;
    write_new(&path, json.as_bytes(), false)?;
    Ok(Some(bundle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_proof_binds_key_and_peer() {
        let key = KeyPair::from_seed("k");
        let p2p = P2pKeypair::generate_ed25519();
        let b = ValidatorBundle::new("v", &key, &p2p, 1).expect("bundle");
        b.verify().expect("valid bundle");
        let mut other = b.clone();
        other.peer_id = P2pKeypair::generate_ed25519().public().to_peer_id().to_base58();
        assert!(matches!(other.verify(), Err(KeyError::Bundle { field: "proof", .. })));
        let mut other = b;
        other.public_key = *KeyPair::from_seed("z").public();
        assert!(other.verify().is_err());
    }
}
