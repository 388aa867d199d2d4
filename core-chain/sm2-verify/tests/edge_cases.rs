//! Every malformed or borderline input, refused (or accepted) exactly as RustCrypto `sm2` decides, with
//! the typed error this crate gives.

mod common;

use common::*;
use num_bigint::BigUint;
use scf_sm2_verify::{verify, verify_batch, BatchItem, Error, KeyCache, VerifyingKey, DEFAULT_DIST_ID};

const ID: &str = "1234567812345678";

fn with_r(sig: &[u8; 64], r: &BigUint) -> [u8; 64] {
    let mut out = *sig;
    out[..32].copy_from_slice(&be32(r));
    out
}
fn with_s(sig: &[u8; 64], s: &BigUint) -> [u8; 64] {
    let mut out = *sig;
    out[32..].copy_from_slice(&be32(s));
    out
}

/// A case: key bytes, message, signature, the expected answer.
struct Case {
    name: &'static str,
    key: Vec<u8>,
    msg: Vec<u8>,
    sig: Vec<u8>,
    expect: Result<(), Error>,
}

fn cases() -> Vec<Case> {
    let signer = RefSigner::from_label("edge cases");
    let msg = b"transfer 100 to bob".to_vec();
    let good = signer.sign(&msg);
    let key = signer.public.to_vec();
    let n = n();
    let p = BigUint::parse_bytes(P_HEX.as_bytes(), 16).expect("p");
    let r = BigUint::from_bytes_be(&good[..32]);
    let zero = BigUint::from(0u8);
    let one = BigUint::from(1u8);

    let mut off_curve = key.clone();
    off_curve[64] ^= 1;
    let mut compressed = vec![2 + (key[64] & 1)];
    compressed.extend_from_slice(&key[1..33]);
    let mut hybrid = key.clone();
    hybrid[0] = 6 + (key[64] & 1);
    let mut x_plus_p = key.clone();
    // x + p still fits in 256 bits only when x < 2^256 − p; use x = p itself (≡ 0) as the non-canonical one.
    x_plus_p[1..33].copy_from_slice(&be32(&p));
    let mut y_is_p = key.clone();
    y_is_p[33..].copy_from_slice(&be32(&p));
    // A canonical y replaced by y + p when that still fits in 32 bytes: the same field element encoded
    // non-canonically; RustCrypto refuses it, and so must we (the point "is" on the curve mod p).
    let y = BigUint::from_bytes_be(&key[33..]);
    let y_plus_p = &y + &p;
    let mut y_noncanonical = key.clone();
    let y_noncanonical_fits = y_plus_p.bits() <= 256;
    if y_noncanonical_fits {
        y_noncanonical[33..].copy_from_slice(&be32(&y_plus_p));
    }
    let mut flipped_msg = msg.clone();
    flipped_msg[3] ^= 0x20;
    let mut flipped_r = good;
    flipped_r[5] ^= 1;
    let mut flipped_s = good;
    flipped_s[40] ^= 1;
    // s = n − r gives t = r + s ≡ 0.
    let s_zero_sum = &n - &r;
    let other = RefSigner::from_label("someone else");

    let mut v = vec![
        Case { name: "valid", key: key.clone(), msg: msg.clone(), sig: good.to_vec(), expect: Ok(()) },
        Case {
            name: "empty message signed",
            key: key.clone(),
            msg: vec![],
            sig: signer.sign(b"").to_vec(),
            expect: Ok(()),
        },
        Case {
            name: "tampered message",
            key: key.clone(),
            msg: flipped_msg,
            sig: good.to_vec(),
            expect: Err(Error::Mismatch),
        },
        Case {
            name: "tampered r",
            key: key.clone(),
            msg: msg.clone(),
            sig: flipped_r.to_vec(),
            expect: Err(Error::Mismatch),
        },
        Case {
            name: "tampered s",
            key: key.clone(),
            msg: msg.clone(),
            sig: flipped_s.to_vec(),
            expect: Err(Error::Mismatch),
        },
        Case {
            name: "other key",
            key: other.public.to_vec(),
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::Mismatch),
        },
        Case {
            name: "r = 0",
            key: key.clone(),
            msg: msg.clone(),
            sig: with_r(&good, &zero).to_vec(),
            expect: Err(Error::ScalarOutOfRange { scalar: "r" }),
        },
        Case {
            name: "s = 0",
            key: key.clone(),
            msg: msg.clone(),
            sig: with_s(&good, &zero).to_vec(),
            expect: Err(Error::ScalarOutOfRange { scalar: "s" }),
        },
        Case {
            name: "r = n",
            key: key.clone(),
            msg: msg.clone(),
            sig: with_r(&good, &n).to_vec(),
            expect: Err(Error::ScalarOutOfRange { scalar: "r" }),
        },
        Case {
            name: "s = n",
            key: key.clone(),
            msg: msg.clone(),
            sig: with_s(&good, &n).to_vec(),
            expect: Err(Error::ScalarOutOfRange { scalar: "s" }),
        },
        Case {
            name: "r = n + 1",
            key: key.clone(),
            msg: msg.clone(),
            sig: with_r(&good, &(&n + &one)).to_vec(),
            expect: Err(Error::ScalarOutOfRange { scalar: "r" }),
        },
        Case {
            name: "s > n",
            key: key.clone(),
            msg: msg.clone(),
            sig: with_s(&good, &(&n + 5u8)).to_vec(),
            expect: Err(Error::ScalarOutOfRange { scalar: "s" }),
        },
        Case {
            name: "r = 2^256 − 1",
            key: key.clone(),
            msg: msg.clone(),
            sig: [[0xff; 32], [1; 32]].concat(),
            expect: Err(Error::ScalarOutOfRange { scalar: "r" }),
        },
        Case {
            name: "r = n − 1 (in range)",
            key: key.clone(),
            msg: msg.clone(),
            sig: with_r(&good, &(&n - &one)).to_vec(),
            expect: Err(Error::Mismatch),
        },
        Case {
            name: "s = n − 1 (in range)",
            key: key.clone(),
            msg: msg.clone(),
            sig: with_s(&good, &(&n - &one)).to_vec(),
            expect: Err(Error::Mismatch),
        },
        Case {
            name: "r = 1, s = 1 (in range)",
            key: key.clone(),
            msg: msg.clone(),
            sig: sig_of(&one, &one).to_vec(),
            expect: Err(Error::Mismatch),
        },
        Case {
            name: "t = r + s = n",
            key: key.clone(),
            msg: msg.clone(),
            sig: with_s(&good, &s_zero_sum).to_vec(),
            expect: Err(Error::ZeroSum),
        },
        Case {
            name: "all-zero signature",
            key: key.clone(),
            msg: msg.clone(),
            sig: vec![0; 64],
            expect: Err(Error::ScalarOutOfRange { scalar: "r" }),
        },
        Case {
            name: "all-ones signature",
            key: key.clone(),
            msg: msg.clone(),
            sig: vec![0xff; 64],
            expect: Err(Error::ScalarOutOfRange { scalar: "r" }),
        },
        Case {
            name: "signature 63 bytes",
            key: key.clone(),
            msg: msg.clone(),
            sig: good[..63].to_vec(),
            expect: Err(Error::SignatureLength { len: 63 }),
        },
        Case {
            name: "signature 65 bytes",
            key: key.clone(),
            msg: msg.clone(),
            sig: [&good[..], &[0]].concat(),
            expect: Err(Error::SignatureLength { len: 65 }),
        },
        Case {
            name: "key not on curve",
            key: off_curve,
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyNotOnCurve),
        },
        Case {
            name: "key (0, 0)",
            key: [&[4u8][..], &[0; 64]].concat(),
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyNotOnCurve),
        },
        Case {
            name: "key x = p",
            key: x_plus_p,
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyCoordinateOutOfRange { coordinate: "x" }),
        },
        Case {
            name: "key y = p",
            key: y_is_p,
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyCoordinateOutOfRange { coordinate: "y" }),
        },
        Case {
            name: "key all 0xff",
            key: vec![0xff; 65],
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyPrefix { prefix: 0xff }),
        },
        Case {
            name: "key 0x04 then 0xff",
            key: [&[4u8][..], &[0xff; 64]].concat(),
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyCoordinateOutOfRange { coordinate: "x" }),
        },
        Case {
            name: "key hybrid prefix 0x06/0x07",
            key: hybrid.clone(),
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyPrefix { prefix: hybrid[0] }),
        },
        Case {
            name: "key identity encoding 0x00",
            key: vec![0],
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyLength { len: 1 }),
        },
        Case {
            name: "key empty",
            key: vec![],
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyLength { len: 0 }),
        },
        Case {
            name: "key 64 bytes (no prefix)",
            key: key[1..].to_vec(),
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyLength { len: 64 }),
        },
    ];
    if y_noncanonical_fits {
        v.push(Case {
            name: "key y + p (non-canonical)",
            key: y_noncanonical,
            msg: msg.clone(),
            sig: good.to_vec(),
            expect: Err(Error::KeyCoordinateOutOfRange { coordinate: "y" }),
        });
    }
    // Compressed keys: refused by design (the wire format is uncompressed); RustCrypto's parser would take
    // them, the ledger's PublicKey::from_bytes refuses them as we do. Checked apart below.
    v.push(Case {
        name: "compressed key",
        key: compressed,
        msg,
        sig: good.to_vec(),
        expect: Err(Error::KeyLength { len: 33 }),
    });
    v
}

#[test]
fn every_edge_case_gets_its_typed_answer_and_rustcrypto_agrees() {
    let cache = KeyCache::with_warm_after(8, 1);
    for c in cases() {
        assert_eq!(verify(&c.key, DEFAULT_DIST_ID, &c.msg, &c.sig), c.expect, "{}", c.name);
        if c.name != "compressed key" {
            assert_eq!(rustcrypto_accepts(&c.key, ID, &c.msg, &c.sig), c.expect.is_ok(), "RustCrypto on {}", c.name);
        }
        // The cached path answers the same, cold then warm.
        if let Ok(sig) = <[u8; 64]>::try_from(c.sig.as_slice()) {
            for round in 0..2 {
                assert_eq!(
                    cache.verify(&c.key, DEFAULT_DIST_ID, &c.msg, &sig),
                    c.expect,
                    "{} (cache round {round})",
                    c.name
                );
            }
        }
    }
    assert!(cache.contains(&RefSigner::from_label("edge cases").public), "the valid key was admitted");
}

#[test]
fn compressed_keys_are_refused_though_rustcrypto_would_parse_them() {
    let signer = RefSigner::from_label("compressed");
    let sig = signer.sign(b"m");
    let mut compressed = vec![2 + (signer.public[64] & 1)];
    compressed.extend_from_slice(&signer.public[1..33]);
    assert!(rustcrypto_accepts(&compressed, ID, b"m", &sig), "RustCrypto decompresses");
    assert_eq!(VerifyingKey::from_sec1_bytes(&compressed), Err(Error::KeyLength { len: 33 }));
    assert_eq!(VerifyingKey::from_sec1_bytes(&signer.public).map(|k| k.to_sec1_bytes()), Ok(signer.public));
}

#[test]
fn batch_answers_the_edge_cases_like_single_calls() {
    let cases = cases();
    let sigs: Vec<[u8; 64]> = cases.iter().filter_map(|c| <[u8; 64]>::try_from(c.sig.as_slice()).ok()).collect();
    let kept: Vec<&Case> = cases.iter().filter(|c| c.sig.len() == 64).collect();
    let items: Vec<BatchItem> = kept
        .iter()
        .zip(&sigs)
        .map(|(c, sig)| BatchItem { key: &c.key, dist_id: DEFAULT_DIST_ID, msg: &c.msg, sig })
        .collect();
    let got = verify_batch(&items);
    for ((c, r), item) in kept.iter().zip(got).zip(&items) {
        assert_eq!(r, c.expect, "{}", c.name);
        assert_eq!(r, VerifyingKey::from_sec1_bytes(item.key).and_then(|k| k.verify(item.dist_id, item.msg, item.sig)));
    }
}

/// s·G + t·P = O: with a known secret d, s = −r·d/(1 + d) mod n makes s + t·d ≡ 0. Both refuse it,
/// whatever the message.
#[test]
fn signature_whose_point_is_infinity_is_refused() {
    let signer = RefSigner::from_label("identity");
    let d = BigUint::from_bytes_be(&signer.secret);
    let n = n();
    let r = BigUint::from(123_456_789u64);
    let inv = (&d + 1u8).modpow(&(&n - 2u8), &n);
    let s = (&n - (&r * &d % &n)) * inv % &n;
    let sig = sig_of(&r, &s);
    assert_eq!(verify(&signer.public, DEFAULT_DIST_ID, b"any", &sig), Err(Error::IdentityPoint));
    assert!(!rustcrypto_accepts(&signer.public, ID, b"any", &sig));
    let cache = KeyCache::with_warm_after(2, 1);
    cache.preload(&VerifyingKey::from_sec1_bytes(&signer.public).expect("key"));
    assert_eq!(cache.verify(&signer.public, DEFAULT_DIST_ID, b"any", &sig), Err(Error::IdentityPoint));
    let items = [BatchItem { key: &signer.public, dist_id: DEFAULT_DIST_ID, msg: b"any", sig: &sig }];
    assert_eq!(verify_batch(&items), vec![Err(Error::IdentityPoint)]);
}

#[test]
fn overlong_distinguishing_id_is_an_error() {
    let signer = RefSigner::from_label("id");
    let sig = signer.sign(b"m");
    let id = vec![b'a'; 8192];
    assert_eq!(verify(&signer.public, &id, b"m", &sig), Err(Error::DistIdTooLong { len: 8192 }));
    let s = String::from_utf8(id).expect("ascii");
    assert!(!rustcrypto_accepts(&signer.public, &s, b"m", &sig));
}
