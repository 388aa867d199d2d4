//! Criterion comparison, single thread: RustCrypto `sm2` verify against this crate's cold-key,
//! warm-key (cached table) and batch paths, for 32-byte and 256-byte messages.
//! `cargo bench -p scf-sm2-verify --bench verify`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use scf_sm2_verify::{verify, verify_batch, BatchItem, KeyCache, VerifyingKey, DEFAULT_DIST_ID};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::elliptic_curve::sec1::ToSec1Point;

const BATCH: usize = 64;

struct Signed {
    key: [u8; 65],
    msg: Vec<u8>,
    sig: [u8; 64],
}

fn signed(count: usize, msg_len: usize) -> Vec<Signed> {
    (0..count)
        .map(|i| {
            let mut secret = [0u8; 32];
            secret[0] = 0x22;
            secret[24..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            let sk = sm2::SecretKey::from_slice(&secret).expect("valid scalar");
            let signer = sm2::dsa::SigningKey::new("1234567812345678", &sk).expect("signing key");
            let msg: Vec<u8> = (0..msg_len).map(|b| (b * 13 + i) as u8).collect();
            let sig: sm2::dsa::Signature = signer.sign(&msg);
            let key = sk.public_key().to_sec1_point(false).as_bytes().try_into().expect("65 bytes");
            Signed { key, msg, sig: sig.to_bytes().into() }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    for msg_len in [32usize, 256] {
        let items = signed(BATCH, msg_len);
        let one = &items[0];
        let mut group = c.benchmark_group(format!("sm2_verify_{msg_len}B"));
        group.throughput(Throughput::Elements(1));

        let vk_rc = sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", &one.key).expect("key");
        let sig_rc = sm2::dsa::Signature::from_slice(&one.sig).expect("sig");
        group.bench_function("rustcrypto", |b| b.iter(|| vk_rc.verify(black_box(&one.msg), &sig_rc).is_ok()));
        group.bench_function("rustcrypto_parse_each_call", |b| {
            b.iter(|| {
                let vk = sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", &one.key).expect("key");
                let s = sm2::dsa::Signature::from_slice(&one.sig).expect("sig");
                vk.verify(black_box(&one.msg), &s).is_ok()
            })
        });
        group.bench_function("fast_cold", |b| {
            b.iter(|| verify(&one.key, DEFAULT_DIST_ID, black_box(&one.msg), &one.sig).is_ok())
        });
        let cache = KeyCache::new(BATCH);
        for it in &items {
            cache.preload(&VerifyingKey::from_sec1_bytes(&it.key).expect("key"));
        }
        group.bench_function("fast_warm", |b| {
            b.iter(|| cache.verify(&one.key, DEFAULT_DIST_ID, black_box(&one.msg), &one.sig).is_ok())
        });
        group.bench_function("fast_table_build", |b| {
            let vk = VerifyingKey::from_sec1_bytes(&one.key).expect("key");
            b.iter_batched(|| KeyCache::new(1), |c| c.preload(&vk), BatchSize::SmallInput)
        });
        group.finish();

        let mut group = c.benchmark_group(format!("sm2_verify_batch{BATCH}_{msg_len}B"));
        group.throughput(Throughput::Elements(BATCH as u64));
        let batch: Vec<BatchItem> = items
            .iter()
            .map(|it| BatchItem { key: &it.key, dist_id: DEFAULT_DIST_ID, msg: &it.msg, sig: &it.sig })
            .collect();
        group.bench_function("fast_batch_cold", |b| b.iter(|| verify_batch(black_box(&batch))));
        group.bench_function("fast_batch_warm", |b| b.iter(|| cache.verify_batch(black_box(&batch))));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
