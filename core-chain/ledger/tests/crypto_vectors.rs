//! Standard vectors and cross-implementation checks for the 国密 primitives.

use num_bigint::BigUint;
use scf_ledger::crypto::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("hex")
}

/// GM/T 0003.5-2012 (= GB/T 32918.5) Appendix A: signature example on the recommended curve.
#[test]
fn sm2_gmt_0003_5_signature_example() {
    let d = h("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8");
    let key = KeyPair::from_secret_bytes(&d).expect("secret");
    let expected_pub = h("04 09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020 \
                          CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13");
    assert_eq!(key.public().as_bytes().to_vec(), expected_pub, "public key derived from d");
    let mut rs = h("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3");
    rs.extend(h("B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"));
    let sig = Signature::from_slice(&rs).expect("64 bytes");
    key.public().verify_with_id("1234567812345678", b"message digest", &sig).expect("standard signature verifies");
    assert_eq!(key.public().verify(b"message digesT", &sig), Err(CryptoError::BadSignature));
    // Our own signature over the same message verifies too (deterministic nonce, so stable).
    let mine = key.sign(b"message digest");
    key.public().verify(b"message digest", &mine).expect("own signature");
    assert_eq!(mine, key.sign(b"message digest"));
}

/// GB/T 32905-2016 Appendix A examples.
#[test]
fn sm3_gbt_32905_vectors() {
    assert_eq!(hex::encode(sm3(b"abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    assert_eq!(
        hex::encode(sm3(&b"abcd".repeat(16))),
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    );
    assert_eq!(sm3_parts(&[b"ab", b"c"]), sm3(b"abc"));
}

/// GB/T 32907-2016 Appendix A example 1 (one block), via SM4-GCM's underlying cipher: encrypting with
/// GCM and a zero-length message is not a block test, so check the block cipher directly.
#[test]
fn sm4_gbt_32907_vector() {
    use sm4::cipher::{BlockCipherEncrypt, KeyInit};
    let key = h("0123456789abcdeffedcba9876543210");
    let cipher = sm4::Sm4::new_from_slice(&key).expect("key");
    let mut block = sm4::cipher::Array::try_from(key.as_slice()).expect("block");
    cipher.encrypt_block(&mut block);
    assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
}

/// RFC 8998 Appendix A.1: SM4-GCM test vector.
#[test]
fn sm4_gcm_rfc8998_vector() {
    let key = h("0123456789ABCDEFFEDCBA9876543210");
    let nonce: [u8; 12] = h("00001234567800000000ABCD").try_into().expect("12");
    let aad = h("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
    let pt = h("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
                EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA");
    let ct = h("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
                D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D");
    let tag = h("83DE3541E4C2B58177E065A9BF7B62EC");
    let sealed = sm4_gcm_seal(&key, &nonce, &aad, &pt).expect("seal");
    assert_eq!(sealed[..ct.len()], ct[..], "ciphertext");
    assert_eq!(sealed[ct.len()..], tag[..], "tag");
    assert_eq!(sm4_gcm_open(&key, &nonce, &aad, &sealed).expect("open"), pt);
    let mut bad = sealed.clone();
    bad[0] ^= 1;
    assert_eq!(sm4_gcm_open(&key, &nonce, &aad, &bad), Err(CryptoError::Decrypt));
}

#[test]
fn encrypt_at_rest_round_trip_and_tamper() {
    let key = [7u8; 16];
    let sealed = encrypt_at_rest(&key, b"user:alice", b"secret scalar").expect("seal");
    assert_eq!(decrypt_at_rest(&key, b"user:alice", &sealed).expect("open"), b"secret scalar");
    assert!(decrypt_at_rest(&key, b"user:bob", &sealed).is_err(), "aad binds the record");
    assert!(decrypt_at_rest(&key, b"", &sealed[..10]).is_err(), "short input is an error, not a panic");
}

fn biguint_to_32(b: &BigUint) -> [u8; 32] {
    let bytes = b.to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

/// Signatures made here verify in the independent `sm-crypto` crate, and the other way round, with the
/// default distinguishing ID, raw r‖s and DER forms.
#[test]
fn sm2_cross_verifies_with_sm_crypto_both_ways() {
    for i in 0..8 {
        let key = KeyPair::from_seed(&format!("cross/{i}"));
        let msg = format!("voucher transfer #{i}").into_bytes();
        let pub_hex = hex::encode(&key.public().as_bytes()[1..]);
        let sk_hex = hex::encode(key.secret_bytes());

        // ours → sm-crypto (raw r‖s)
        let sig = key.sign(&msg);
        let r = BigUint::from_bytes_be(&sig.0[..32]);
        let s = BigUint::from_bytes_be(&sig.0[32..]);
        assert!(sm_crypto::sm2::Verify::new(&pub_hex).verify(&msg, (r, s), true), "sm-crypto verifies ours");
        // ours → sm-crypto (DER)
        assert!(sm_crypto::sm2::Verify::new(&pub_hex).verify_der(&msg, &sig.to_der().expect("der"), true));

        // sm-crypto → ours
        assert_eq!(sm_crypto::sm2::pk_from_sk(&sk_hex).trim_start_matches("04"), pub_hex);
        let (r, s) = sm_crypto::sm2::Sign::new(&sk_hex).sign(&msg, true);
        let mut raw = biguint_to_32(&r).to_vec();
        raw.extend(biguint_to_32(&s));
        let theirs = Signature::from_slice(&raw).expect("64");
        key.public().verify(&msg, &theirs).expect("we verify sm-crypto's signature");
        let der = sm_crypto::sm2::Sign::new(&sk_hex).sign_der(&msg, true);
        key.public().verify(&msg, &Signature::from_der(&der).expect("der")).expect("DER form");
    }
}

#[test]
fn keys_round_trip_through_pem_and_hex() {
    let key = KeyPair::generate().expect("keygen");
    let pem = key.to_pkcs8_pem().expect("pem");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let back = KeyPair::from_pkcs8_pem(&pem).expect("parse");
    assert_eq!(back.public(), key.public());
    let pub_pem = key.public().to_pem().expect("pub pem");
    assert_eq!(PublicKey::from_pem(&pub_pem).expect("parse pub"), *key.public());
    assert_eq!(PublicKey::from_hex(&key.public().to_hex()).expect("hex"), *key.public());
    assert!(KeyPair::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err());
}

#[test]
fn malformed_keys_and_signatures_are_errors_not_panics() {
    assert_eq!(PublicKey::from_bytes(&[4u8; 65]), Err(CryptoError::InvalidPublicKey));
    assert_eq!(PublicKey::from_bytes(&[4u8; 64]), Err(CryptoError::InvalidPublicKey));
    let mut compressed = KeyPair::from_seed("x").public().as_bytes()[..33].to_vec();
    compressed[0] = 2;
    assert_eq!(PublicKey::from_bytes(&compressed), Err(CryptoError::InvalidPublicKey));
    assert!(KeyPair::from_secret_bytes(&[0u8; 32]).is_err(), "zero scalar");
    assert!(KeyPair::from_secret_bytes(&[0xffu8; 32]).is_err(), "scalar ≥ n");
    let key = KeyPair::from_seed("y");
    assert_eq!(key.public().verify(b"m", &Signature([0u8; 64])), Err(CryptoError::MalformedSignature));
    assert_eq!(key.public().verify(b"m", &Signature([0xffu8; 64])), Err(CryptoError::MalformedSignature));
    assert!(Signature::from_slice(&[1u8; 63]).is_err());
}

#[test]
fn sm2_public_key_encryption_wraps_data_keys() {
    let key = KeyPair::from_seed("wrap");
    let ct = key.public().encrypt(b"0123456789abcdef").expect("encrypt");
    assert_eq!(key.decrypt(&ct).expect("decrypt"), b"0123456789abcdef");
    assert!(KeyPair::from_seed("other").decrypt(&ct).is_err());
}
