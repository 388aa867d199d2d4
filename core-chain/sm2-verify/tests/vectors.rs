//! Published vectors and cross-implementation agreement (RustCrypto `sm2`, `sm-crypto`).

mod common;

use common::*;
use scf_sm2_verify::{verify, Error, KeyCache, VerifyingKey, DEFAULT_DIST_ID};

/// GM/T 0003.5-2012 (= GB/T 32918.5) Appendix A: the signature example on the recommended curve.
#[test]
fn gmt_0003_5_signature_example() {
    let key = h("04 09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020
                   CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13");
    let sig = h("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
                 B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA");
    let sig: [u8; 64] = sig.try_into().expect("64");
    let vk = VerifyingKey::from_sec1_bytes(&key).expect("valid key");
    assert_eq!(vk.verify(b"1234567812345678", b"message digest", &sig), Ok(()));
    assert_eq!(verify(&key, DEFAULT_DIST_ID, b"message digest", &sig), Ok(()));
    assert_eq!(vk.verify(DEFAULT_DIST_ID, b"message digesT", &sig), Err(Error::Mismatch));
    assert_eq!(vk.verify(b"1234567812345679", b"message digest", &sig), Err(Error::Mismatch));
    // The same answers through the cache, cold and warm.
    let cache = KeyCache::with_warm_after(4, 1);
    assert_eq!(cache.verify(&key, DEFAULT_DIST_ID, b"message digest", &sig), Ok(()));
    assert!(cache.contains(&key));
    assert_eq!(cache.verify(&key, DEFAULT_DIST_ID, b"message digest", &sig), Ok(()));
    assert_eq!(cache.verify(&key, DEFAULT_DIST_ID, b"message digesT", &sig), Err(Error::Mismatch));
    // And the secret d of the example really belongs to this key (RustCrypto derives the same point).
    let d = h("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8");
    let signer = RefSigner::from_secret(&d.try_into().expect("32"), "1234567812345678").expect("d");
    assert_eq!(signer.public.to_vec(), key);
}

/// The ledger's cross-implementation check (core-chain/ledger/tests/crypto_vectors.rs), through this
/// verifier: signatures by RustCrypto and by sm-crypto over the same keys and messages.
#[test]
fn ledger_cross_vectors_with_both_reference_signers() {
    for i in 0..8 {
        let key = RefSigner::from_label(&format!("cross/{i}"));
        let msg = format!("voucher transfer #{i}").into_bytes();
        let ours = key.sign(&msg);
        assert_eq!(verify(&key.public, DEFAULT_DIST_ID, &msg, &ours), Ok(()));
        assert!(sm_crypto_accepts(&key.public, &msg, &ours));

        let sk_hex = hex::encode(key.secret);
        // sm-crypto writes the key as hex x ‖ y, without the SEC1 prefix.
        assert_eq!(sm_crypto::sm2::pk_from_sk(&sk_hex), hex::encode(&key.public[1..]));
        let (r, s) = sm_crypto::sm2::Sign::new(&sk_hex).sign(&msg, true);
        let theirs = sig_of(&r, &s);
        assert_eq!(verify(&key.public, DEFAULT_DIST_ID, &msg, &theirs), Ok(()));
        assert!(rustcrypto_accepts(&key.public, "1234567812345678", &msg, &theirs));
        let mut tampered = msg.clone();
        tampered[0] ^= 1;
        assert_eq!(verify(&key.public, DEFAULT_DIST_ID, &tampered, &theirs), Err(Error::Mismatch));
    }
}

/// Agreement with `sm-crypto` on many keys and message lengths around the SM3 block boundaries.
#[test]
fn sm_crypto_signatures_verify_at_every_length() {
    let key = RefSigner::from_label("sm-crypto lengths");
    let sk_hex = hex::encode(key.secret);
    let signer = sm_crypto::sm2::Sign::new(&sk_hex);
    for len in [0usize, 1, 23, 24, 55, 56, 63, 64, 65, 119, 120, 128, 150, 256, 300, 1000] {
        let msg: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        let (r, s) = signer.sign(&msg, true);
        let sig = sig_of(&r, &s);
        assert_eq!(verify(&key.public, DEFAULT_DIST_ID, &msg, &sig), Ok(()), "len {len}");
        assert!(rustcrypto_accepts(&key.public, "1234567812345678", &msg, &sig));
        let mut bad = sig;
        bad[63] ^= 0x80;
        assert_eq!(
            verify(&key.public, DEFAULT_DIST_ID, &msg, &bad).is_ok(),
            rustcrypto_accepts(&key.public, "1234567812345678", &msg, &bad)
        );
    }
}

/// Non-default distinguishing ids (GB/T 32918.2's examples use ALICE123@YAHOO.COM) agree with RustCrypto,
/// including the empty id that OpenSSL 3 signs with.
#[test]
fn other_distinguishing_ids_agree_with_rustcrypto() {
    for id in ["ALICE123@YAHOO.COM", "", "x", "中文标识"] {
        let secret: [u8; 32] = *b"another secret scalar for SM2 id";
        let signer = RefSigner::from_secret(&secret, id).expect("valid scalar");
        let sig = signer.sign(b"abc");
        assert_eq!(verify(&signer.public, id.as_bytes(), b"abc", &sig), Ok(()), "id {id:?}");
        assert_eq!(verify(&signer.public, DEFAULT_DIST_ID, b"abc", &sig), Err(Error::Mismatch));
        assert!(rustcrypto_accepts(&signer.public, id, b"abc", &sig));
    }
}
