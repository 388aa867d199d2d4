#![no_main]
//! Decoding arbitrary bytes as a block never panics; whatever decodes re-encodes to the same bytes and
//! its transaction proofs verify.
use libfuzzer_sys::fuzz_target;
use scf_ledger::block::Block;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::from_bytes(data) {
        assert_eq!(block.to_bytes(), data);
        for i in 0..block.txs.len() {
            let _ = block.tx_proof(i).map(|p| p.verify());
        }
    }
});
