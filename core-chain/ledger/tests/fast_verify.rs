//! `PublicKey::verify` runs the fast verifier (`scf-sm2-verify`) through the process-wide key cache;
//! `PublicKey::verify_reference` is RustCrypto `sm2`. On every edge case, and on random mutations, both
//! give the same answer with the same `CryptoError`, whether the key is cold or has its table cached.
//!
//! Each test uses its own keys: the cache is shared by the whole test process.

use num_bigint::BigUint;
use proptest::prelude::*;
use scf_ledger::crypto::{CryptoError, KeyPair, PublicKey, Signature, DEFAULT_DIST_ID};

const N_HEX: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";
const P_HEX: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF";

fn n() -> BigUint {
    BigUint::parse_bytes(N_HEX.as_bytes(), 16).expect("n")
}

fn be32(b: &BigUint) -> [u8; 32] {
    let bytes = b.to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

fn sig_of(r: &BigUint, s: &BigUint) -> Signature {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&be32(r));
    out[32..].copy_from_slice(&be32(s));
    Signature(out)
}

fn with_r(sig: &Signature, r: &BigUint) -> Signature {
    let mut out = *sig;
    out.0[..32].copy_from_slice(&be32(r));
    out
}

fn with_s(sig: &Signature, s: &BigUint) -> Signature {
    let mut out = *sig;
    out.0[32..].copy_from_slice(&be32(s));
    out
}

struct Case {
    name: &'static str,
    dist_id: String,
    msg: Vec<u8>,
    sig: Signature,
    expect: Result<(), CryptoError>,
}

/// Every borderline signature for `key`, with the answer RustCrypto gives.
fn cases(key: &KeyPair) -> Vec<Case> {
    let msg = b"transfer 100 to bob".to_vec();
    let good = key.sign(&msg);
    let n = n();
    let one = BigUint::from(1u8);
    let zero = BigUint::from(0u8);
    let r = BigUint::from_bytes_be(&good.0[..32]);
    let d = BigUint::from_bytes_be(&key.secret_bytes());
    // s·G + t·P = O: s + t·d ≡ 0 with t = r + s, so s = −r·d / (1 + d).
    let r_id = BigUint::from(123_456_789u64);
    let inv = (&d + 1u8).modpow(&(&n - 2u8), &n);
    let s_id = (&n - (&r_id * &d % &n)) * inv % &n;
    let mut flipped_msg = msg.clone();
    flipped_msg[3] ^= 0x20;
    let mut flipped_r = good;
    flipped_r.0[5] ^= 1;
    let mut flipped_s = good;
    flipped_s.0[40] ^= 1;
    let other = KeyPair::from_seed("fast_verify/someone else").sign(&msg);
    let id = DEFAULT_DIST_ID.to_string();
    let case = |name, msg: &[u8], sig, expect| Case { name, dist_id: id.clone(), msg: msg.to_vec(), sig, expect };
    use CryptoError::{BadSignature as Bad, MalformedSignature as Malformed};
    vec![
        case("valid", &msg, good, Ok(())),
        case("empty message", b"", key.sign(b""), Ok(())),
        case("tampered message", &flipped_msg, good, Err(Bad)),
        case("tampered r", &msg, flipped_r, Err(Bad)),
        case("tampered s", &msg, flipped_s, Err(Bad)),
        case("another key's signature", &msg, other, Err(Bad)),
        case("r = 0", &msg, with_r(&good, &zero), Err(Malformed)),
        case("s = 0", &msg, with_s(&good, &zero), Err(Malformed)),
        case("r = n", &msg, with_r(&good, &n), Err(Malformed)),
        case("s = n", &msg, with_s(&good, &n), Err(Malformed)),
        case("r = n + 1", &msg, with_r(&good, &(&n + &one)), Err(Malformed)),
        case("s = n + 5", &msg, with_s(&good, &(&n + 5u8)), Err(Malformed)),
        case("r = 2^256 − 1", &msg, Signature([[0xff; 32], [1; 32]].concat().try_into().expect("64")), Err(Malformed)),
        case("r = n − 1", &msg, with_r(&good, &(&n - &one)), Err(Bad)),
        case("s = n − 1", &msg, with_s(&good, &(&n - &one)), Err(Bad)),
        case("r = s = 1", &msg, sig_of(&one, &one), Err(Bad)),
        case("t = r + s = n", &msg, with_s(&good, &(&n - &r)), Err(Bad)),
        case("s·G + t·P = O", &msg, sig_of(&r_id, &s_id), Err(Bad)),
        case("all-zero signature", &msg, Signature([0; 64]), Err(Malformed)),
        case("all-ones signature", &msg, Signature([0xff; 64]), Err(Malformed)),
        Case {
            name: "another id",
            dist_id: "ALICE123@YAHOO.COM".into(),
            msg: msg.clone(),
            sig: good,
            expect: Err(Bad),
        },
        Case { name: "empty id", dist_id: String::new(), msg: msg.clone(), sig: good, expect: Err(Bad) },
        // ENTL is the id's length in bits in 16 bits: RustCrypto cannot build the key, an invalid key.
        Case {
            name: "id of 8192 bytes",
            dist_id: "a".repeat(8192),
            msg: msg.clone(),
            sig: good,
            expect: Err(CryptoError::InvalidPublicKey),
        },
        Case {
            name: "id of 8192 bytes, malformed signature",
            dist_id: "a".repeat(8192),
            msg,
            sig: Signature([0; 64]),
            expect: Err(CryptoError::InvalidPublicKey),
        },
    ]
}

fn check_all(key: &KeyPair, phase: &str) {
    for c in cases(key) {
        let reference = key.public().verify_reference(&c.dist_id, &c.msg, &c.sig);
        assert_eq!(reference, c.expect, "RustCrypto on {} ({phase})", c.name);
        // One fast verification per case, so a cold pass stays below the cache's admission count.
        if c.dist_id == DEFAULT_DIST_ID {
            assert_eq!(key.public().verify(&c.msg, &c.sig), c.expect, "{} via verify ({phase})", c.name);
        } else {
            assert_eq!(key.public().verify_with_id(&c.dist_id, &c.msg, &c.sig), c.expect, "{} ({phase})", c.name);
        }
    }
}

/// Signs valid messages until the key's table is cached (the cache admits a key after a few valid
/// signatures); fails if it never is.
fn warm(key: &KeyPair) {
    for i in 0..16u32 {
        if key.public().verify_table_cached() {
            return;
        }
        let msg = format!("warm-up {i}");
        assert_eq!(key.public().verify(msg.as_bytes(), &key.sign(msg.as_bytes())), Ok(()));
    }
    assert!(key.public().verify_table_cached(), "the key was admitted to the cache");
}

#[test]
fn edge_cases_get_rustcryptos_answer_cold_and_warm() {
    let key = KeyPair::from_seed("fast_verify/edge cases");
    assert!(!key.public().verify_table_cached(), "a fresh key starts cold");
    // Two valid cases, fewer than it takes to be admitted: every case runs on the cold path.
    check_all(&key, "cold");
    assert!(!key.public().verify_table_cached(), "still cold after the first pass");
    warm(&key);
    check_all(&key, "warm");
    assert!(key.public().verify_table_cached());
}

#[test]
fn invalid_signatures_never_admit_a_key() {
    let key = KeyPair::from_seed("fast_verify/forger");
    let good = key.sign(b"m");
    for i in 0..64u8 {
        let mut bad = good;
        bad.0[usize::from(i)] ^= 1;
        assert!(key.public().verify(b"m", &bad).is_err());
    }
    assert!(!key.public().verify_table_cached(), "only valid signatures count towards a table");
}

/// The ledger's key parsing refuses what the verifier would refuse, so a `PublicKey` never reaches a
/// key error at verification.
#[test]
fn public_keys_the_verifier_would_refuse_cannot_be_built() {
    let good = *KeyPair::from_seed("fast_verify/keys").public().as_bytes();
    let p = BigUint::parse_bytes(P_HEX.as_bytes(), 16).expect("p");
    let mut off_curve = good;
    off_curve[64] ^= 1;
    let mut x_is_p = good;
    x_is_p[1..33].copy_from_slice(&be32(&p));
    let mut y_is_p = good;
    y_is_p[33..].copy_from_slice(&be32(&p));
    let mut hybrid = good;
    hybrid[0] = 6 + (good[64] & 1);
    let mut compressed = vec![2 + (good[64] & 1)];
    compressed.extend_from_slice(&good[1..33]);
    let bad: [(&str, Vec<u8>); 8] = [
        ("off the curve", off_curve.to_vec()),
        ("x = p", x_is_p.to_vec()),
        ("y = p", y_is_p.to_vec()),
        ("hybrid prefix", hybrid.to_vec()),
        ("compressed", compressed),
        ("(0, 0)", [&[4u8][..], &[0; 64]].concat()),
        ("64 bytes", good[1..].to_vec()),
        ("empty", vec![]),
    ];
    for (name, bytes) in bad {
        assert_eq!(PublicKey::from_bytes(&bytes), Err(CryptoError::InvalidPublicKey), "{name}");
        assert!(scf_sm2_verify::VerifyingKey::from_sec1_bytes(&bytes).is_err(), "the verifier refuses {name} too");
    }
    assert!(PublicKey::from_bytes(&good).is_ok());
}

/// One of four keys, warm or not, signing `msg`; then one mutation.
fn mutated(key_index: usize, msg: &[u8], mutation: u8, at: usize, bit: u8) -> (PublicKey, Vec<u8>, Signature) {
    static KEYS: std::sync::LazyLock<Vec<KeyPair>> = std::sync::LazyLock::new(|| {
        let keys: Vec<KeyPair> = (0..4).map(|i| KeyPair::from_seed(&format!("fast_verify/prop {i}"))).collect();
        // Two warm keys, two that stay cold: the cold keys only ever see invalid signatures (every
        // mutation but 0 changes something, and the test skips mutation 0 for them).
        warm(&keys[0]);
        warm(&keys[1]);
        keys
    });
    let key = &KEYS[key_index % 4];
    let mut msg = msg.to_vec();
    let mut sig = key.sign(&msg);
    let mut public = *key.public();
    match mutation % 5 {
        0 => {}
        1 => sig.0[at % 64] ^= 1 << (bit % 8),
        2 if !msg.is_empty() => {
            let i = at % msg.len();
            msg[i] ^= 1 << (bit % 8);
        }
        2 => msg.push(bit),
        3 => public = *KEYS[(key_index + 1) % 4].public(),
        _ => {
            let i = at % 64;
            sig.0[i] = if sig.0[i] == bit { bit ^ 1 } else { bit };
        }
    }
    (public, msg, sig)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_mutations_get_rustcryptos_answer(
        key_index in 0usize..4,
        msg in proptest::collection::vec(any::<u8>(), 0..200),
        mutation in 0u8..5,
        at in any::<usize>(),
        bit in any::<u8>(),
    ) {
        // Cold keys (2, 3) only see refusals and keep to the cold path.
        prop_assume!(!(mutation == 0 && key_index >= 2));
        let (public, msg, sig) = mutated(key_index, &msg, mutation, at, bit);
        prop_assert_eq!(public.verify(&msg, &sig), public.verify_reference(DEFAULT_DIST_ID, &msg, &sig));
    }

    #[test]
    fn arbitrary_signatures_get_rustcryptos_answer(key_index in 0usize..4, r in any::<[u8; 32]>(), s in any::<[u8; 32]>()) {
        let (public, msg, _) = mutated(key_index, b"m", 1, 0, 0);
        let mut raw = [0u8; 64];
        raw[..32].copy_from_slice(&r);
        raw[32..].copy_from_slice(&s);
        let sig = Signature(raw);
        prop_assert_eq!(public.verify(&msg, &sig), public.verify_reference(DEFAULT_DIST_ID, &msg, &sig));
    }
}
