//! The fuzz targets' properties, run on the stable toolchain in every test run: arbitrary and mutated
//! bytes never panic the decoders, and anything accepted is canonical.

use proptest::prelude::*;
use scf_ledger::block::Block;
use scf_ledger::codec::encode;
use scf_ledger::crypto::KeyPair;
use scf_ledger::tx::{Call, SignedTx, TxBody};

fn sample_tx() -> SignedTx {
    let key = KeyPair::from_seed("fuzz");
    TxBody {
        chain_id: "c".into(),
        sender: *key.public(),
        nonce: 3,
        expiry_height: 9,
        call: Call { module: "m".into(), payload: vec![1, 2, 3] },
    }
    .sign(&key)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(tx) = SignedTx::from_bytes(&data) {
            prop_assert_eq!(tx.to_bytes(), data.clone());
        }
        if let Ok(b) = Block::from_bytes(&data) {
            prop_assert_eq!(b.to_bytes(), data);
        }
    }

    #[test]
    fn mutated_transactions_never_panic(pos in 0usize..400, byte in any::<u8>(), cut in 0usize..400) {
        let mut bytes = encode(&sample_tx());
        let p = pos % bytes.len();
        bytes[p] = byte;
        bytes.truncate(cut.max(1).min(bytes.len()));
        if let Ok(tx) = SignedTx::from_bytes(&bytes) {
            prop_assert_eq!(tx.to_bytes(), bytes);
            let _ = tx.verify_signature();
        }
    }
}
