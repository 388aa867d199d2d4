//! The key cache and the batch API: same answers as single verification, bounded, thread-safe.

mod common;

use common::*;
use scf_sm2_verify::{verify, verify_batch, BatchItem, Error, KeyCache, VerifyingKey, DEFAULT_DIST_ID};

#[test]
fn keys_are_admitted_after_enough_valid_signatures_and_only_then() {
    let cache = KeyCache::with_warm_after(8, 3);
    let signer = RefSigner::from_label("admission");
    let sig = signer.sign(b"m");
    let mut bad = sig;
    bad[10] ^= 1;
    for _ in 0..5 {
        assert_eq!(cache.verify(&signer.public, DEFAULT_DIST_ID, b"m", &bad), Err(Error::Mismatch));
    }
    assert!(!cache.contains(&signer.public), "invalid signatures never admit a key");
    assert_eq!(cache.verify(&signer.public, DEFAULT_DIST_ID, b"m", &sig), Ok(()));
    assert_eq!(cache.verify(&signer.public, DEFAULT_DIST_ID, b"m", &sig), Ok(()));
    assert!(!cache.contains(&signer.public));
    assert_eq!(cache.verify(&signer.public, DEFAULT_DIST_ID, b"m", &sig), Ok(()));
    assert!(cache.contains(&signer.public), "admitted at the third valid signature");
    assert_eq!(cache.verify(&signer.public, DEFAULT_DIST_ID, b"m", &bad), Err(Error::Mismatch));
}

#[test]
fn capacity_bounds_the_cache_and_the_least_recently_used_key_goes() {
    let cache = KeyCache::with_warm_after(3, 1);
    let signers: Vec<RefSigner> = (0..5).map(|i| RefSigner::from_label(&format!("lru/{i}"))).collect();
    let sigs: Vec<[u8; 64]> = signers.iter().map(|s| s.sign(b"m")).collect();
    for i in 0..3 {
        assert_eq!(cache.verify(&signers[i].public, DEFAULT_DIST_ID, b"m", &sigs[i]), Ok(()));
    }
    assert_eq!(cache.len(), 3);
    // Touch key 0 so key 1 is the least recently used, then admit key 3.
    assert_eq!(cache.verify(&signers[0].public, DEFAULT_DIST_ID, b"m", &sigs[0]), Ok(()));
    assert_eq!(cache.verify(&signers[3].public, DEFAULT_DIST_ID, b"m", &sigs[3]), Ok(()));
    assert_eq!(cache.len(), 3);
    assert!(
        cache.contains(&signers[0].public) && cache.contains(&signers[2].public) && cache.contains(&signers[3].public)
    );
    assert!(!cache.contains(&signers[1].public));
    // Evicted keys still verify (cold).
    assert_eq!(cache.verify(&signers[1].public, DEFAULT_DIST_ID, b"m", &sigs[1]), Ok(()));

    let none = KeyCache::new(0);
    assert_eq!(none.verify(&signers[4].public, DEFAULT_DIST_ID, b"m", &sigs[4]), Ok(()));
    none.preload(&VerifyingKey::from_sec1_bytes(&signers[4].public).expect("key"));
    assert!(none.is_empty(), "capacity 0 holds nothing");
}

#[test]
fn cached_keys_remember_other_distinguishing_ids() {
    let secret = *b"a fixed secret scalar, 32 bytes!";
    let signer = RefSigner::from_secret(&secret, "ALICE123@YAHOO.COM").expect("scalar");
    let cache = KeyCache::with_warm_after(2, 1);
    cache.preload(&VerifyingKey::from_sec1_bytes(&signer.public).expect("key"));
    let sig = signer.sign(b"abc");
    for _ in 0..3 {
        assert_eq!(cache.verify(&signer.public, b"ALICE123@YAHOO.COM", b"abc", &sig), Ok(()));
        assert_eq!(cache.verify(&signer.public, DEFAULT_DIST_ID, b"abc", &sig), Err(Error::Mismatch));
    }
    assert_eq!(cache.verify(&signer.public, &[b'x'; 9000], b"abc", &sig), Err(Error::DistIdTooLong { len: 9000 }));
}

#[test]
fn threads_share_one_cache_and_get_the_single_answers() {
    let cache = KeyCache::with_warm_after(4, 2);
    let signers: Vec<RefSigner> = (0..6).map(|i| RefSigner::from_label(&format!("threads/{i}"))).collect();
    let work: Vec<([u8; 65], Vec<u8>, [u8; 64])> = (0..120)
        .map(|j| {
            let s = &signers[j % signers.len()];
            let msg = format!("tx {j}").into_bytes();
            let mut sig = s.sign(&msg);
            if j % 7 == 0 {
                sig[j % 64] ^= 1;
            }
            (s.public, msg, sig)
        })
        .collect();
    let expected: Vec<Result<(), Error>> = work.iter().map(|(k, m, s)| verify(k, DEFAULT_DIST_ID, m, s)).collect();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (cache, work, expected) = (&cache, &work, &expected);
            scope.spawn(move || {
                for round in 0..3 {
                    for (j, (k, m, s)) in work.iter().enumerate().skip(t) {
                        assert_eq!(
                            cache.verify(k, DEFAULT_DIST_ID, m, s),
                            expected[j],
                            "thread {t} round {round} item {j}"
                        );
                    }
                }
            });
        }
    });
    assert!(cache.len() <= 4);
    assert!(!cache.is_empty());
}

#[test]
fn batch_answers_equal_single_answers_with_shared_and_broken_keys() {
    let signers: Vec<RefSigner> = (0..4).map(|i| RefSigner::from_label(&format!("batch/{i}"))).collect();
    let mut keys: Vec<Vec<u8>> = signers.iter().map(|s| s.public.to_vec()).collect();
    let mut off_curve = signers[0].public.to_vec();
    off_curve[64] ^= 1;
    keys.push(off_curve);
    keys.push(vec![4; 10]);
    let mut msgs = Vec::new();
    let mut sigs = Vec::new();
    for j in 0..40usize {
        let msg = format!("batch item {j}").into_bytes();
        let mut sig = signers[j % 4].sign(&msg);
        if j % 5 == 0 {
            sig[33] ^= 0x40;
        }
        if j % 11 == 0 {
            sig[..32].copy_from_slice(&[0xff; 32]);
        }
        msgs.push(msg);
        sigs.push(sig);
    }
    let items: Vec<BatchItem> = (0..40)
        .map(|j| BatchItem {
            key: &keys[if j % 13 == 0 { 4 + j % 2 } else { j % 4 }],
            dist_id: if j % 17 == 0 { b"other id" } else { DEFAULT_DIST_ID },
            msg: &msgs[j],
            sig: &sigs[j],
        })
        .collect();
    let single: Vec<Result<(), Error>> = items
        .iter()
        .map(|it| VerifyingKey::from_sec1_bytes(it.key).and_then(|k| k.verify(it.dist_id, it.msg, it.sig)))
        .collect();
    assert!(single.iter().filter(|r| r.is_ok()).count() >= 20, "most items are valid");
    assert!(single.iter().any(|r| r.is_err()));
    assert_eq!(verify_batch(&items), single);
    let cache = KeyCache::with_warm_after(8, 1);
    assert_eq!(cache.verify_batch(&items), single, "cold batch through the cache");
    assert!(cache.len() >= 4);
    assert_eq!(cache.verify_batch(&items), single, "warm batch through the cache");
    assert_eq!(verify_batch(&[]), vec![]);
}
