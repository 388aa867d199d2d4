//! Differential tests: on random and mutated inputs the accept/refuse decision equals RustCrypto `sm2`'s,
//! and every path of this crate (one-shot, cached cold and warm, batch) gives the same answer.

mod common;

use common::*;
use proptest::prelude::*;
use scf_sm2_verify::{verify, verify_batch, BatchItem, KeyCache, VerifyingKey, DEFAULT_DIST_ID};

const ID: &str = "1234567812345678";

/// How an input is damaged before verification.
#[derive(Clone, Debug)]
enum Mutation {
    None,
    FlipSigBit(usize),
    FlipMsgBit(usize),
    FlipKeyBit(usize),
    SetSigByte(usize, u8),
    AppendToMsg(u8),
    SwapRS,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => Just(Mutation::None),
        2 => (0usize..512).prop_map(Mutation::FlipSigBit),
        1 => (0usize..4096).prop_map(Mutation::FlipMsgBit),
        1 => (8usize..520).prop_map(Mutation::FlipKeyBit),
        1 => ((0usize..64), any::<u8>()).prop_map(|(i, b)| Mutation::SetSigByte(i, b)),
        1 => any::<u8>().prop_map(Mutation::AppendToMsg),
        1 => Just(Mutation::SwapRS),
    ]
}

fn apply(m: &Mutation, key: &mut [u8; 65], msg: &mut Vec<u8>, sig: &mut [u8; 64]) {
    match *m {
        Mutation::None => {}
        Mutation::FlipSigBit(b) => sig[b / 8] ^= 1 << (b % 8),
        Mutation::FlipMsgBit(b) if !msg.is_empty() => {
            let i = (b / 8) % msg.len();
            msg[i] ^= 1 << (b % 8)
        }
        Mutation::FlipMsgBit(_) => msg.push(0),
        Mutation::FlipKeyBit(b) => key[b / 8] ^= 1 << (b % 8),
        Mutation::SetSigByte(i, v) => sig[i] = v,
        Mutation::AppendToMsg(v) => msg.push(v),
        Mutation::SwapRS => {
            let (r, s) = sig.split_at_mut(32);
            r.swap_with_slice(s);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// A signature made by RustCrypto, possibly damaged: same decision as RustCrypto, on every path.
    #[test]
    fn signed_then_mutated_agrees_with_rustcrypto(
        secret in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..320),
        m in mutation(),
    ) {
        let Some(signer) = RefSigner::from_secret(&secret, ID) else { return Ok(()) };
        let mut sig = signer.sign(&msg);
        let mut key = signer.public;
        let mut msg = msg;
        apply(&m, &mut key, &mut msg, &mut sig);
        let reference = rustcrypto_accepts(&key, ID, &msg, &sig);
        let ours = verify(&key, DEFAULT_DIST_ID, &msg, &sig);
        prop_assert_eq!(ours.is_ok(), reference, "mutation {:?}: ours {:?}", m, ours);
        if matches!(m, Mutation::None) {
            prop_assert!(ours.is_ok());
        }
        // Cached path, cold then warm (admitted at the first valid signature), and the batch path.
        let cache = KeyCache::with_warm_after(2, 1);
        cache.preload(&VerifyingKey::from_sec1_bytes(&signer.public).expect("signer's key"));
        prop_assert_eq!(cache.verify(&key, DEFAULT_DIST_ID, &msg, &sig), ours);
        let item = [BatchItem { key: &key, dist_id: DEFAULT_DIST_ID, msg: &msg, sig: &sig }];
        prop_assert_eq!(verify_batch(&item), vec![ours]);
    }

    /// Arbitrary bytes everywhere (mostly refusals of every kind): same decision as RustCrypto.
    #[test]
    fn arbitrary_inputs_agree_with_rustcrypto(
        key in proptest::collection::vec(any::<u8>(), 65),
        msg in proptest::collection::vec(any::<u8>(), 0..64),
        sig in any::<[u8; 64]>(),
        prefix_04 in any::<bool>(),
    ) {
        let mut key = key;
        if prefix_04 { key[0] = 4; }
        prop_assert_eq!(verify(&key, DEFAULT_DIST_ID, &msg, &sig).is_ok(), rustcrypto_accepts(&key, ID, &msg, &sig));
    }

    /// Arbitrary signatures under a valid key: the scalar checks and the final comparison are what is
    /// exercised, not key parsing.
    #[test]
    fn arbitrary_signatures_under_a_valid_key_agree(
        secret in any::<[u8; 32]>(),
        sig in any::<[u8; 64]>(),
        small_r in any::<bool>(),
    ) {
        let Some(signer) = RefSigner::from_secret(&secret, ID) else { return Ok(()) };
        let mut sig = sig;
        if small_r { sig[..31].fill(0); }
        let ours = verify(&signer.public, DEFAULT_DIST_ID, b"m", &sig);
        prop_assert_eq!(ours.is_ok(), rustcrypto_accepts(&signer.public, ID, b"m", &sig));
    }
}

proptest! {
    // sm-crypto is slow (big-integer arithmetic): fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sm_crypto_signatures_verify_and_damage_agrees(
        secret in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..300),
        flip in 0usize..512,
    ) {
        let Some(signer) = RefSigner::from_secret(&secret, ID) else { return Ok(()) };
        let (r, s) = sm_crypto::sm2::Sign::new(&hex::encode(secret)).sign(&msg, true);
        let sig = sig_of(&r, &s);
        prop_assert_eq!(verify(&signer.public, DEFAULT_DIST_ID, &msg, &sig), Ok(()));
        let mut bad = sig;
        bad[flip / 8] ^= 1 << (flip % 8);
        let ours = verify(&signer.public, DEFAULT_DIST_ID, &msg, &bad).is_ok();
        prop_assert_eq!(ours, sm_crypto_accepts(&signer.public, &msg, &bad));
        prop_assert_eq!(ours, rustcrypto_accepts(&signer.public, ID, &msg, &bad));
    }
}

/// Millions of inputs against RustCrypto, in release: `cargo test --release -p scf-sm2-verify --test
/// differential -- --ignored --nocapture` (SM2_DIFF_CASES sets the count, default 1,000,000; SM2_DIFF_SEED
/// the seed). Two threads, each with its own generator and cache.
#[test]
#[ignore = "long: run explicitly in release"]
fn millions_of_random_inputs_agree_with_rustcrypto() {
    let cases: u64 = std::env::var("SM2_DIFF_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let seed: u64 = std::env::var("SM2_DIFF_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    let threads = 2u64;
    let totals: Vec<(u64, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || run_random_cases(seed + t, cases / threads + u64::from(t < cases % threads))))
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).collect()
    });
    let accepted: u64 = totals.iter().map(|t| t.0).sum();
    let refused: u64 = totals.iter().map(|t| t.1).sum();
    assert_eq!(accepted + refused, cases);
    println!("{cases} cases agreed with RustCrypto: {accepted} accepted, {refused} refused");
}

/// `cases` random inputs from `seed`: (accepted, refused), panicking on the first disagreement.
fn run_random_cases(seed: u64, cases: u64) -> (u64, u64) {
    let mut rng = SplitMix(seed);
    let signers: Vec<RefSigner> = (0..64).map(|i| RefSigner::from_label(&format!("long/{seed}/{i}"))).collect();
    let cache = KeyCache::with_warm_after(32, 1);
    let (mut accepted, mut refused) = (0u64, 0u64);
    for case in 0..cases {
        let signer = &signers[rng.below(64) as usize];
        let mut msg = vec![0u8; rng.below(300) as usize];
        rng.fill(&mut msg);
        let mut sig = signer.sign(&msg);
        let mut key = signer.public;
        match rng.below(8) {
            0..=2 => {}
            3 => sig[rng.below(64) as usize] ^= 1 << rng.below(8),
            4 => msg.push(rng.next_u64() as u8),
            5 => key[1 + rng.below(64) as usize] ^= 1 << rng.below(8),
            6 => rng.fill(&mut sig),
            _ => {
                let v = rng.next_u64() as u8;
                sig[rng.below(64) as usize] = v;
            }
        }
        let reference = rustcrypto_accepts(&key, ID, &msg, &sig);
        let ours = verify(&key, DEFAULT_DIST_ID, &msg, &sig);
        assert_eq!(ours.is_ok(), reference, "case {case} (seed {seed}): ours {ours:?}");
        assert_eq!(cache.verify(&key, DEFAULT_DIST_ID, &msg, &sig), ours, "cached, case {case} (seed {seed})");
        if reference {
            accepted += 1;
        } else {
            refused += 1;
        }
        if (case + 1) % 100_000 == 0 {
            println!("seed {seed}: {} cases agree", case + 1);
        }
    }
    (accepted, refused)
}
