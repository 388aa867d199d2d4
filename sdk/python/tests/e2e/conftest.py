"""A real `scf demo` for the examples (started once per session, as ui/e2e does): a free port, a fresh
data directory, healthy and caught up before any test runs. The binary is not built here: ``SCF_BIN``,
else ``$CARGO_TARGET_DIR/debug/scf``. Without either the e2e tests are skipped with the reason shown
(or fail, with ``SCF_REQUIRE_DEMO`` set, as in CI)."""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[4]


def scf_binary():
    if os.environ.get("SCF_BIN"):
        return pathlib.Path(os.environ["SCF_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR", str(pathlib.Path.home() / ".cache" / "scf-target"))
    return (REPO / target).resolve() / "debug" / "scf"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, limit=8000):
    return path.read_bytes()[-limit:].decode("utf-8", "replace")


@pytest.fixture(scope="session")
def demo_url():
    binary = scf_binary()
    if not binary.exists():
        why = f"scf binary not found at {binary}: build it (cargo build --bin scf) or set SCF_BIN"
        if os.environ.get("SCF_REQUIRE_DEMO"):
            raise RuntimeError(why)
        pytest.skip(why)
    port = free_port()
    data = tempfile.mkdtemp(prefix="scf-sdk-py-")
    log_path = pathlib.Path(data).with_suffix(".log")
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [str(binary), "demo", "--port", str(port), "--data", data, "--ui", os.path.join(data, "no-ui")],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"scf demo exited with {proc.returncode}:\n{tail(log_path)}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    h = json.loads(r.read())
                    if h.get("chain_height") is not None and (h.get("indexed_height") or -1) >= h["chain_height"]:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"scf demo not healthy after 240 s:\n{tail(log_path)}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(data, ignore_errors=True)
        log_path.unlink(missing_ok=True)
