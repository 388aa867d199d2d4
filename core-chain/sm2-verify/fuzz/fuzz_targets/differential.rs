#![no_main]
//! The fast verifier decides exactly as RustCrypto `sm2` does, on arbitrary (key, message, signature)
//! triples and on valid signatures with mutations; the cached and batch paths give the single answer.
use libfuzzer_sys::fuzz_target;
use scf_sm2_verify::{verify, verify_batch, BatchItem, KeyCache, VerifyingKey, DEFAULT_DIST_ID};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::elliptic_curve::sec1::ToSec1Point;

const ID: &str = "1234567812345678";

fn rustcrypto_accepts(key: &[u8], msg: &[u8], sig: &[u8; 64]) -> bool {
    let Ok(vk) = sm2::dsa::VerifyingKey::from_sec1_bytes(ID, key) else { return false };
    let Ok(s) = sm2::dsa::Signature::from_slice(sig) else { return false };
    vk.verify(msg, &s).is_ok()
}

fn check(key: &[u8], msg: &[u8], sig: &[u8; 64], must_accept: bool) {
    let ours = verify(key, DEFAULT_DIST_ID, msg, sig);
    let reference = rustcrypto_accepts(key, msg, sig);
    // Compressed keys are refused by design (the wire format is uncompressed); RustCrypto takes them.
    if key.len() == 65 {
        assert_eq!(ours.is_ok(), reference, "ours {ours:?}");
    } else {
        assert!(ours.is_err());
    }
    if must_accept {
        assert_eq!(ours, Ok(()));
    }
    let cache = KeyCache::with_warm_after(1, 1);
    if let Ok(vk) = VerifyingKey::from_sec1_bytes(key) {
        cache.preload(&vk);
    }
    assert_eq!(cache.verify(key, DEFAULT_DIST_ID, msg, sig), ours, "warm path");
    assert_eq!(verify_batch(&[BatchItem { key, dist_id: DEFAULT_DIST_ID, msg, sig }]), vec![ours], "batch path");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        // Arbitrary bytes: 65-byte key (the prefix forced to 0x04 half the time), 64-byte signature, message.
        if rest.len() < 129 {
            return;
        }
        let mut key = rest[..65].to_vec();
        if mode & 2 == 0 {
            key[0] = 4;
        }
        let sig: [u8; 64] = rest[65..129].try_into().expect("64 bytes");
        check(&key, &rest[129..], &sig, false);
    } else {
        // A valid signature by a key from the input, then mutations (position, xor) over key ‖ sig ‖ msg.
        if rest.len() < 34 {
            return;
        }
        let Ok(sk) = sm2::SecretKey::from_slice(&rest[..32]) else { return };
        let Ok(signer) = sm2::dsa::SigningKey::new(ID, &sk) else { return };
        let msg_len = (rest[32] as usize).min(rest.len() - 33);
        let mut msg = rest[33..33 + msg_len].to_vec();
        let signature: sm2::dsa::Signature = signer.sign(&msg);
        let mut sig: [u8; 64] = signature.to_bytes().into();
        let mut key: Vec<u8> = sk.public_key().to_sec1_point(false).as_bytes().to_vec();
        check(&key, &msg, &sig, true);
        let mutations = &rest[33 + msg_len..];
        if mutations.is_empty() {
            return;
        }
        for m in mutations.chunks_exact(2) {
            let span = 65 + 64 + msg.len().max(1);
            let at = (m[0] as usize * 7) % span;
            let x = m[1].max(1);
            if at < 65 {
                key[at] ^= x;
            } else if at < 129 {
                sig[at - 65] ^= x;
            } else if msg.is_empty() {
                msg.push(x);
            } else {
                msg[at - 129] ^= x;
            }
        }
        check(&key, &msg, &sig, false);
    }
});
