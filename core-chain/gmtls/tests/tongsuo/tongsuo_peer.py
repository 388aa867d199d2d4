#!/usr/bin/env python3
"""One TLS 1.3 connection with Tongsuo's libssl (RFC 8998: TLS_SM4_GCM_SM3, curveSM2, sm2sig_sm3).

Tongsuo is the OpenSSL fork maintained for 国密; the `tongsuopy` wheel on PyPI links its libssl into
`_tongsuo.abi3.so` and exports the SSL_* functions, which this script drives through ctypes. Both peers must
present certificates from the CA file (mutual TLS). The server listens on 127.0.0.1 only.

  tongsuo_peer.py --lib SO server --cert C --key K --ca CA            (prints "listening PORT")
  tongsuo_peer.py --lib SO client --port P --cert C --key K --ca CA --message M

Each prints "cipher NAME", then what it received as "received TEXT", or "error ..." and exits 1.
"""
import argparse
import ctypes
import socket
import sys

SSL_CTRL_SET_GROUPS_LIST = 92
SSL_CTRL_SET_SIGALGS_LIST = 98
SSL_CTRL_SET_MIN_PROTO_VERSION = 123
SSL_CTRL_SET_MAX_PROTO_VERSION = 124
TLS1_3_VERSION = 0x0304
SSL_VERIFY_PEER = 0x01
SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02


def load(path):
    lib = ctypes.CDLL(path)
    vp, cp, i, l = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_long
    sigs = {
        "OpenSSL_version": ([i], cp),
        "TLS_method": ([], vp),
        "SSL_CTX_new": ([vp], vp),
        "SSL_CTX_ctrl": ([vp, i, l, vp], l),
        "SSL_CTX_set_ciphersuites": ([vp, cp], i),
        "SSL_CTX_enable_sm_tls13_strict": ([vp], None),
        "SSL_CTX_use_certificate_chain_file": ([vp, cp], i),
        "SSL_CTX_use_PrivateKey_file": ([vp, cp, i], i),
        "SSL_CTX_load_verify_locations": ([vp, cp, cp], i),
        "SSL_CTX_set_verify": ([vp, i, vp], None),
        "SSL_new": ([vp], vp),
        "SSL_set_fd": ([vp, i], i),
        "SSL_accept": ([vp], i),
        "SSL_connect": ([vp], i),
        "SSL_read": ([vp, vp, i], i),
        "SSL_write": ([vp, cp, i], i),
        "SSL_shutdown": ([vp], i),
        "SSL_get_current_cipher": ([vp], vp),
        "SSL_CIPHER_get_name": ([vp], cp),
        "ERR_get_error": ([], ctypes.c_ulong),
        "SSL_get_error": ([vp, i], i),
        "SSL_get_verify_result": ([vp], l),
        "ERR_error_string_n": ([ctypes.c_ulong, cp, ctypes.c_size_t], None),
    }
    for name, (args, res) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res
    return lib


def errors(lib):
    out = []
    while True:
        code = lib.ERR_get_error()
        if not code:
            return "; ".join(out) or "no error queued"
        buf = ctypes.create_string_buffer(256)
        lib.ERR_error_string_n(code, buf, len(buf))
        out.append(buf.value.decode())


def fail(lib, what):
    print(f"error {what}: {errors(lib)}", flush=True)
    sys.exit(1)


def handshake_failed(lib, ssl, rc):
    code = lib.SSL_get_error(ssl, rc)
    verify = lib.SSL_get_verify_result(ssl)
    fail(lib, f"handshake (SSL_get_error {code}, verify result {verify})")


def context(lib, args):
    ctx = lib.SSL_CTX_new(lib.TLS_method())
    for ctrl, value in ((SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_3_VERSION), (SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_3_VERSION)):
        if lib.SSL_CTX_ctrl(ctx, ctrl, value, None) != 1:
            fail(lib, "protocol version")
    if lib.SSL_CTX_set_ciphersuites(ctx, b"TLS_SM4_GCM_SM3") != 1:
        fail(lib, "ciphersuites")
    if lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_GROUPS_LIST, 0, ctypes.cast(ctypes.c_char_p(b"SM2"), ctypes.c_void_p)) != 1:
        fail(lib, "groups")
    if lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SIGALGS_LIST, 0, ctypes.cast(ctypes.c_char_p(b"sm2sig_sm3"), ctypes.c_void_p)) != 1:
        fail(lib, "sigalgs")
    lib.SSL_CTX_enable_sm_tls13_strict(ctx)
    if lib.SSL_CTX_use_certificate_chain_file(ctx, args.cert.encode()) != 1:
        fail(lib, "certificate")
    if lib.SSL_CTX_use_PrivateKey_file(ctx, args.key.encode(), 1) != 1:
        fail(lib, "private key")
    if lib.SSL_CTX_load_verify_locations(ctx, args.ca.encode(), None) != 1:
        fail(lib, "CA file")
    lib.SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, None)
    return ctx


def exchange(lib, ssl, send_first, message):
    buf = ctypes.create_string_buffer(4096)
    name = lib.SSL_CIPHER_get_name(lib.SSL_get_current_cipher(ssl)).decode()
    print(f"cipher {name}", flush=True)
    if send_first:
        data = (message + "\n").encode()
        if lib.SSL_write(ssl, data, len(data)) <= 0:
            fail(lib, "write")
    n = lib.SSL_read(ssl, buf, len(buf))
    if n <= 0:
        fail(lib, "read")
    text = buf.raw[:n].decode(errors="replace").rstrip("\n")
    print(f"received {text}", flush=True)
    if not send_first:
        data = f"echo: {text}\n".encode()
        if lib.SSL_write(ssl, data, len(data)) <= 0:
            fail(lib, "write")
    lib.SSL_shutdown(ssl)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib", required=True)
    p.add_argument("mode", choices=["server", "client", "version"])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--message", default="hello")
    args = p.parse_args()
    lib = load(args.lib)
    if args.mode == "version":
        print(lib.OpenSSL_version(0).decode())
        return
    ctx = context(lib, args)
    ssl = lib.SSL_new(ctx)
    if args.mode == "server":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        print(f"listening {listener.getsockname()[1]}", flush=True)
        conn, _ = listener.accept()
        lib.SSL_set_fd(ssl, conn.fileno())
        rc = lib.SSL_accept(ssl)
        if rc != 1:
            handshake_failed(lib, ssl, rc)
        exchange(lib, ssl, False, None)
        conn.close()
    else:
        conn = socket.create_connection(("127.0.0.1", args.port), timeout=20)
        conn.settimeout(None)  # OpenSSL needs a blocking descriptor
        lib.SSL_set_fd(ssl, conn.fileno())
        rc = lib.SSL_connect(ssl)
        if rc != 1:
            handshake_failed(lib, ssl, rc)
        exchange(lib, ssl, True, args.message)
        conn.close()


if __name__ == "__main__":
    main()
