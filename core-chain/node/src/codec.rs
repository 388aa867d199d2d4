//! Wire and WAL encoding of consensus, sync and streaming messages: Borsh (the ledger's canonical
//! encoding), through Malachite's own Borsh support, with a size bound checked before decoding.

use bytes::Bytes;
use malachitebft_app::types::streaming::StreamMessage;
use malachitebft_app::types::sync::RawDecidedValue;
use malachitebft_app::types::sync::{Request, Response, Status};
use malachitebft_app::types::{ProposedValue, SignedConsensusMsg};
use malachitebft_codec::{Codec, HasEncodedLen};
use malachitebft_core_consensus::LivenessMsg;
use malachitebft_core_types::{
    ExtendedCommitCertificate, ExtendedCommitSignature, PolkaCertificate, Round, ValidatorProof,
};
use malachitebft_sync::ValueResponse;

use crate::context::{BlockHash, Height, ProposalPart, ScfContext, ValidatorAddress};
use crate::signing::ConsensusSignature;

/// Largest message the codec will try to decode (a block part can be up to the ledger's block limit).
pub const MAX_MESSAGE_BYTES: usize = scf_ledger::block::MAX_BLOCK_BYTES + 64 * 1024;

/// Largest sync response: the engine fills a response with up to `sync.batch_size` decided blocks until
/// it reaches this size (`max_response_size`), so the decoder must take as much as the engine may send,
/// more than one block. The node configures the engine with this same constant.
pub const MAX_SYNC_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("codec: {what}: {len} bytes exceeds the {limit}-byte limit")]
    TooLarge { what: &'static str, len: usize, limit: usize },
    #[error("codec: {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
}

/// Borsh codec for every message type the engine needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScfCodec;

fn decode<T: borsh::BorshDeserialize>(what: &'static str, bytes: &[u8]) -> Result<T, CodecError> {
    decode_within(what, bytes, MAX_MESSAGE_BYTES)
}

fn decode_within<T: borsh::BorshDeserialize>(what: &'static str, bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    if bytes.len() > limit {
        return Err(CodecError::TooLarge { what, len: bytes.len(), limit });
    }
    borsh::from_slice(bytes).map_err(|e| CodecError::Malformed { what, reason: e.to_string() })
}

fn encode<T: borsh::BorshSerialize>(what: &'static str, msg: &T) -> Result<Bytes, CodecError> {
    borsh::to_vec(msg).map(Bytes::from).map_err(|e| CodecError::Malformed { what, reason: e.to_string() })
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

/// Sync responses carry Malachite's extended certificates, which have no Borsh impl. Vote extensions are
/// disabled on this chain, so a certificate travels as (height, round, block hash, [(address, sig)]).
#[derive(borsh::BorshSerialize, borsh::BorshDeserialize)]
struct WireCommitSignature {
    address: ValidatorAddress,
    signature: ConsensusSignature,
}

#[derive(borsh::BorshSerialize, borsh::BorshDeserialize)]
struct WireDecided {
    value_bytes: Vec<u8>,
    height: Height,
    round: Round,
    value_id: BlockHash,
    signatures: Vec<WireCommitSignature>,
}

#[derive(borsh::BorshSerialize, borsh::BorshDeserialize)]
struct WireResponse {
    start_height: Height,
    values: Vec<WireDecided>,
}

fn to_wire(msg: &Response<ScfContext>) -> Result<WireResponse, CodecError> {
    let Response::ValueResponse(r) = msg;
    let mut values = Vec::with_capacity(r.values.len());
    for v in &r.values {
        let c = &v.certificate;
        let mut signatures = Vec::with_capacity(c.commit_signatures.len());
        for s in &c.commit_signatures {
            if s.extension.is_some() {
                return Err(CodecError::Malformed {
                    what: "sync response",
                    reason: "vote extensions are disabled".into(),
                });
            }
            signatures.push(WireCommitSignature { address: s.address, signature: s.signature });
        }
        values.push(WireDecided {
            value_bytes: v.value_bytes.to_vec(),
            height: c.height,
            round: c.round,
            value_id: c.value_id,
            signatures,
        });
    }
    Ok(WireResponse { start_height: r.start_height, values })
}

impl Codec<Response<ScfContext>> for ScfCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<Response<ScfContext>, CodecError> {
        let w: WireResponse = decode_within("sync response", &bytes, MAX_SYNC_RESPONSE_BYTES)?;
        let values = w
            .values
            .into_iter()
            .map(|d| {
                let certificate = ExtendedCommitCertificate {
                    height: d.height,
                    round: d.round,
                    value_id: d.value_id,
                    commit_signatures: d
                        .signatures
                        .into_iter()
                        .map(|s| ExtendedCommitSignature::new(s.address, s.signature, None))
                        .collect(),
                };
                RawDecidedValue::new(Bytes::from(d.value_bytes), certificate)
            })
            .collect();
        Ok(Response::ValueResponse(ValueResponse::new(w.start_height, values)))
    }
    fn encode(&self, msg: &Response<ScfContext>) -> Result<Bytes, CodecError> {
        encode("sync response", &to_wire(msg)?)
    }
}

impl HasEncodedLen<Response<ScfContext>> for ScfCodec {
    fn encoded_len(&self, msg: &Response<ScfContext>) -> Result<usize, CodecError> {
        borsh::object_length(&to_wire(msg)?)
            .map_err(|e| CodecError::Malformed { what: "sync response", reason: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(values: usize, value_bytes: usize) -> Response<ScfContext> {
        let values = (0..values as u64)
            .map(|h| {
                let certificate = ExtendedCommitCertificate {
                    height: Height(h + 1),
                    round: Round::new(0),
                    value_id: BlockHash(scf_ledger::crypto::Hash32([7; 32])),
                    commit_signatures: Vec::new(),
                };
                RawDecidedValue::new(Bytes::from(vec![0xab; value_bytes]), certificate)
            })
            .collect();
        Response::ValueResponse(ValueResponse::new(Height(1), values))
    }

    /// The engine fills a sync response up to `max_response_size`: three blocks at the configured
    /// 16 MiB maximum (48 MiB, over the single-message limit) must decode on the other side.
    #[test]
    fn a_sync_response_as_large_as_the_engine_sends_decodes() {
        let big = response(3, 16 * 1024 * 1024);
        let len = ScfCodec.encoded_len(&big).expect("len");
        assert!(len > MAX_MESSAGE_BYTES && len <= MAX_SYNC_RESPONSE_BYTES, "{len}");
        let bytes = ScfCodec.encode(&big).expect("encode");
        let Response::ValueResponse(back) =
            <ScfCodec as Codec<Response<ScfContext>>>::decode(&ScfCodec, bytes).expect("decode");
        assert_eq!(back.values.len(), 3);
        assert_eq!(back.values[2].value_bytes.len(), 16 * 1024 * 1024);
        // Beyond what the engine may send: refused before decoding.
        let over = Bytes::from(vec![0u8; MAX_SYNC_RESPONSE_BYTES + 1]);
        let err = <ScfCodec as Codec<Response<ScfContext>>>::decode(&ScfCodec, over).err();
        assert!(matches!(err, Some(CodecError::TooLarge { limit: MAX_SYNC_RESPONSE_BYTES, .. })), "{err:?}");
    }
}
