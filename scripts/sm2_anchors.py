#!/usr/bin/env python3
"""SM2 verification anchors for docs/benchmarks.md: OpenSSL (`openssl speed sm2`) and Tongsuo (through
the `tongsuopy` package from PyPI), measured on this machine in the same window as `scf bench`, so the
chain's figures can be read against implementations outside the project.

Prints one JSON object: verifications (and signatures) per second, per core (one process) and on all
cores (one process per core), for each implementation. Tongsuo's figure includes the Python call
overhead of `tongsuopy` (small against one SM2 verification).

Run through scripts/sm2-anchors.sh, which installs tongsuopy in a virtual environment of its own.
"""

import json
import multiprocessing
import os
import re
import subprocess
import sys
import time

SECONDS = float(os.environ.get("ANCHOR_SECONDS", "5"))


def openssl(multi: int) -> dict:
    """`openssl speed` for SM2: its last table line holds sign/s and verify/s (user CPU time)."""
    cmd = ["openssl", "speed", "-seconds", str(int(SECONDS))]
    if multi > 1:
        cmd += ["-multi", str(multi)]
    cmd.append("sm2")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    version = subprocess.run(["openssl", "version"], check=True, capture_output=True, text=True).stdout.strip()
    # e.g. " 256 bits SM2 (CurveSM2)   0.0003s   0.0003s   3656.0   3786.0"
    rows = [l for l in out.splitlines() if "SM2" in l and re.search(r"\d+\.\d+\s+\d+\.\d+\s*$", l)]
    if not rows:
        raise SystemExit(f"openssl speed printed no SM2 row:\n{out}")
    nums = rows[-1].split()
    return {"version": version, "command": " ".join(cmd), "sign_per_s": float(nums[-2]), "verify_per_s": float(nums[-1])}


def _tongsuo_worker(seconds: float, queue) -> None:
    from tongsuopy.crypto import hashes
    from tongsuopy.crypto.asymciphers import ec

    key = ec.generate_private_key(ec.SM2())
    pub = key.public_key()
    msg = b"x" * 32
    sig = key.sign(msg, ec.ECDSA(hashes.SM3()))
    # Verify.
    n, t0 = 0, time.thread_time()
    while time.thread_time() - t0 < seconds:
        for _ in range(50):
            pub.verify(sig, msg, ec.ECDSA(hashes.SM3()))
        n += 50
    verify = n / (time.thread_time() - t0)
    # Sign.
    n, t0 = 0, time.thread_time()
    while time.thread_time() - t0 < seconds / 2:
        for _ in range(50):
            key.sign(msg, ec.ECDSA(hashes.SM3()))
        n += 50
    sign = n / (time.thread_time() - t0)
    queue.put((verify, sign))


def tongsuo(processes: int) -> dict:
    import tongsuopy

    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_tongsuo_worker, args=(SECONDS, queue)) for _ in range(processes)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return {
        "version": f"tongsuopy {tongsuopy.__version__}",
        "processes": processes,
        "verify_per_s": round(sum(r[0] for r in results), 1),
        "sign_per_s": round(sum(r[1] for r in results), 1),
        "clock": "CPU time of each process (time.thread_time)",
    }


def main() -> None:
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    out = {
        "cores": cores,
        "load_1min_at_start": round(load, 2),
        "seconds": SECONDS,
        "openssl_one_core": openssl(1),
        "openssl_all_cores": openssl(cores),
        "tongsuo_one_core": tongsuo(1),
        "tongsuo_all_cores": tongsuo(cores),
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
