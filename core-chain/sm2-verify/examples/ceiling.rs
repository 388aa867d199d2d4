//! Single-core SM2 verification throughput: RustCrypto `sm2` against this crate's paths, in one run so
//! the ratios hold whatever the machine's load. `cargo run --release -p scf-sm2-verify --example ceiling`
//! (optional argument: seconds per measurement, default 1). Ratios are to RustCrypto with a
//! pre-parsed key, on CPU time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use scf_sm2_verify::{verify, verify_batch, BatchItem, KeyCache, VerifyingKey, DEFAULT_DIST_ID};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::elliptic_curve::sec1::ToSec1Point;

const KEYS: usize = 64;
const SIGS: usize = 256;
const BATCH: usize = 64;

struct Fixture {
    keys: Vec<[u8; 65]>,
    msgs: Vec<Vec<u8>>,
    sigs: Vec<[u8; 64]>,
    owner: Vec<usize>,
}

fn fixture(msg_len: usize) -> Fixture {
    let mut keys = Vec::new();
    let mut signers = Vec::new();
    for i in 0..KEYS {
        let mut secret = [0u8; 32];
        secret[0] = 0x11;
        secret[24..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
        let sk = sm2::SecretKey::from_slice(&secret).expect("valid scalar");
        signers.push(sm2::dsa::SigningKey::new("1234567812345678", &sk).expect("signing key"));
        keys.push(sk.public_key().to_sec1_point(false).as_bytes().try_into().expect("65 bytes"));
    }
    let (mut msgs, mut sigs, mut owner) = (Vec::new(), Vec::new(), Vec::new());
    for j in 0..SIGS {
        let msg: Vec<u8> = (0..msg_len).map(|b| (b * 31 + j * 7) as u8).collect();
        let k = j % KEYS;
        let sig: sm2::dsa::Signature = signers[k].sign(&msg);
        sigs.push(sig.to_bytes().into());
        msgs.push(msg);
        owner.push(k);
    }
    Fixture { keys, msgs, sigs, owner }
}

/// Nanoseconds this thread has spent on a CPU (Linux schedstat), so a machine shared with other work
/// still gives per-core rates; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

/// Verifications per second of `f`, best of three runs of `secs` wall-clock each: (per wall-clock
/// second, per second on a CPU).
fn rate(secs: f64, mut f: impl FnMut(usize) -> usize) -> (f64, f64) {
    let mut best = (0f64, 0f64);
    for _ in 0..3 {
        let start = Instant::now();
        let cpu_start = thread_cpu_ns();
        let mut done = 0usize;
        let mut j = 0usize;
        while start.elapsed() < Duration::from_secs_f64(secs) {
            done += f(j);
            j += 1;
        }
        let wall = start.elapsed().as_secs_f64();
        let cpu = match (cpu_start, thread_cpu_ns()) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
            _ => wall,
        };
        best = (best.0.max(done as f64 / wall), best.1.max(done as f64 / cpu));
    }
    best
}

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1.0);
    println!("single thread, {KEYS} keys, {SIGS} signatures, best of 3 × {secs} s");
    println!("verifies/s per second of wall clock and per second on a CPU (differ when the machine is shared)");
    println!("{:>5}  {:<46} {:>10} {:>10} {:>7}", "msg", "path", "wall", "cpu", "ratio");
    for msg_len in [32usize, 256] {
        let fx = fixture(msg_len);
        let parsed_rc: Vec<sm2::dsa::VerifyingKey> = fx
            .keys
            .iter()
            .map(|k| sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", k).expect("key"))
            .collect();
        let sigs_rc: Vec<sm2::dsa::Signature> =
            fx.sigs.iter().map(|s| sm2::dsa::Signature::from_slice(s).expect("sig")).collect();
        let cache = KeyCache::new(KEYS);
        for k in &fx.keys {
            cache.preload(&VerifyingKey::from_sec1_bytes(k).expect("key"));
        }
        let items: Vec<BatchItem> = (0..SIGS)
            .map(|j| BatchItem {
                key: &fx.keys[fx.owner[j]],
                dist_id: DEFAULT_DIST_ID,
                msg: &fx.msgs[j],
                sig: &fx.sigs[j],
            })
            .collect();

        let rc_ledger = rate(secs, |j| {
            let j = j % SIGS;
            let vk = sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", &fx.keys[fx.owner[j]]).expect("key");
            let s = sm2::dsa::Signature::from_slice(&fx.sigs[j]).expect("sig");
            assert!(vk.verify(black_box(&fx.msgs[j]), &s).is_ok());
            1
        });
        let rc_parsed = rate(secs, |j| {
            let j = j % SIGS;
            assert!(parsed_rc[fx.owner[j]].verify(black_box(&fx.msgs[j]), &sigs_rc[j]).is_ok());
            1
        });
        let cold = rate(secs, |j| {
            let j = j % SIGS;
            assert!(verify(&fx.keys[fx.owner[j]], DEFAULT_DIST_ID, black_box(&fx.msgs[j]), &fx.sigs[j]).is_ok());
            1
        });
        let warm = rate(secs, |j| {
            let j = j % SIGS;
            assert!(cache.verify(&fx.keys[fx.owner[j]], DEFAULT_DIST_ID, black_box(&fx.msgs[j]), &fx.sigs[j]).is_ok());
            1
        });
        let batch = rate(secs, |j| {
            let start = (j * BATCH) % SIGS;
            let out = verify_batch(black_box(&items[start..start + BATCH]));
            assert!(out.iter().all(|r| r.is_ok()));
            BATCH
        });
        let cached_batch = rate(secs, |j| {
            let start = (j * BATCH) % SIGS;
            let out = cache.verify_batch(black_box(&items[start..start + BATCH]));
            assert!(out.iter().all(|r| r.is_ok()));
            BATCH
        });
        let row = |name: &str, v: (f64, f64)| {
            println!("{msg_len:>4}B  {name:<46} {:>10.0} {:>10.0} {:>6.2}x", v.0, v.1, v.1 / rc_parsed.1)
        };
        row("RustCrypto sm2 (key pre-parsed)", rc_parsed);
        row("RustCrypto sm2 (parse key each call, ledger)", rc_ledger);
        row("fast, cold key (parse + verify each call)", cold);
        row("fast, warm key (KeyCache table)", warm);
        row(&format!("fast, verify_batch of {BATCH} (cold keys)"), batch);
        row(&format!("fast, KeyCache::verify_batch of {BATCH} (warm)"), cached_batch);
    }
    // Cost of building one key's table, for the cache's admission threshold.
    let fx = fixture(32);
    let keys: Vec<VerifyingKey> = fx.keys.iter().map(|k| VerifyingKey::from_sec1_bytes(k).expect("key")).collect();
    let (_, builds_per_s) = rate(secs, |j| {
        let cache = KeyCache::new(1);
        cache.preload(&keys[j % KEYS]);
        1
    });
    println!(
        "table build per key: {:.0} µs of CPU ({} bytes held per cached key)",
        1e6 / builds_per_s,
        KeyCache::BYTES_PER_KEY
    );
}
