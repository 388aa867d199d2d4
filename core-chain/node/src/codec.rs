//! Wire and WAL encoding of consensus, sync and streaming messages: Borsh (the ledger's canonical
//! encoding), through Malachite's own Borsh support, with a size bound checked before decoding.

use bytes::Bytes;
use malachitebft_app::types::streaming::StreamMessage;
use malachitebft_app::types::sync::{Request, Response, Status};
use malachitebft_app::types::{ProposedValue, SignedConsensusMsg};
use malachitebft_codec::{Codec, HasEncodedLen};
use malachitebft_core_consensus::LivenessMsg;
use malachitebft_core_types::{PolkaCertificate, ValidatorProof};

use crate::context::{ProposalPart, ScfContext};
use crate::signing::ConsensusSignature;

/// Largest message the codec will try to decode (a block part can be up to the ledger's block limit).
pub const MAX_MESSAGE_BYTES: usize = scf_ledger::block::MAX_BLOCK_BYTES + 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("codec: {what}: {len} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge { what: &'static str, len: usize },
    #[error("codec: {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
}

/// Borsh codec for every message type the engine needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScfCodec;

fn decode<T: borsh::BorshDeserialize>(what: &'static str, bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(CodecError::TooLarge { what, len: bytes.len() });
    }
    borsh::from_slice(bytes).map_err(|e| CodecError::Malformed { what, reason: e.to_string() })
}

fn encode<T: borsh::BorshSerialize>(what: &'static str, msg: &T) -> Result<Bytes, CodecError> {
    borsh::to_vec(msg)
        .map(Bytes::from)
        .map_err(|e| CodecError::Malformed { what, reason: e.to_string() })
}

macro_rules! borsh_codec {
    ($ty:ty, $what:literal) => {
        impl Codec<$ty> for ScfCodec {
            type Error = CodecError;
            fn decode(&self, bytes: Bytes) -> Result<$ty, CodecError> {
                decode($what, &bytes)
            }
            fn encode(&self, msg: &$ty) -> Result<Bytes, CodecError> {
                encode($what, msg)
            }
        }
    };
}

borsh_codec!(ProposalPart, "proposal part");
borsh_codec!(SignedConsensusMsg<ScfContext>, "consensus message");
borsh_codec!(LivenessMsg<ScfContext>, "liveness message");
borsh_codec!(StreamMessage<ProposalPart>, "stream message");
borsh_codec!(Status<ScfContext>, "sync status");
borsh_codec!(Request<ScfContext>, "sync request");
borsh_codec!(Response<ScfContext>, "sync response");
borsh_codec!(ProposedValue<ScfContext>, "proposed value");
borsh_codec!(PolkaCertificate<ScfContext>, "polka certificate");

/// Malachite has no Borsh impl for validator proofs: encode the three fields in order.
#[derive(borsh::BorshSerialize, borsh::BorshDeserialize)]
struct WireValidatorProof {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    signature: ConsensusSignature,
}

impl Codec<ValidatorProof<ScfContext>> for ScfCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<ScfContext>, CodecError> {
        let w: WireValidatorProof = decode("validator proof", &bytes)?;
        Ok(ValidatorProof::new(w.public_key, w.peer_id, w.signature))
    }
    fn encode(&self, msg: &ValidatorProof<ScfContext>) -> Result<Bytes, CodecError> {
        encode(
            "validator proof",
            &WireValidatorProof {
                public_key: msg.public_key.clone(),
                peer_id: msg.peer_id.clone(),
                signature: msg.signature,
            },
        )
    }
}

impl HasEncodedLen<Response<ScfContext>> for ScfCodec {
    fn encoded_len(&self, msg: &Response<ScfContext>) -> Result<usize, CodecError> {
        borsh::object_length(msg).map_err(|e| CodecError::Malformed { what: "sync response", reason: e.to_string() })
    }
}
