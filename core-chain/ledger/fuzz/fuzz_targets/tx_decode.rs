#![no_main]
//! Decoding arbitrary bytes as a transaction never panics; whatever decodes re-encodes to the same bytes.
use libfuzzer_sys::fuzz_target;
use scf_ledger::tx::SignedTx;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTx::from_bytes(data) {
        assert_eq!(tx.to_bytes(), data);
        let _ = tx.verify_signature();
        let _ = tx.id();
    }
});
