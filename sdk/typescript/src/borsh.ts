/**
 * A Borsh writer for what a client signs: transaction bodies and module call payloads. Little-endian
 * fixed-width integers, `u32` length prefixes for strings, byte vectors and sequences, one tag byte for
 * enums and `Option` — the ledger's canonical encoding (docs/ledger-format.md).
 */
import { concat, utf8 } from './verify/bytes.js';

export { BorshReader, DecodeError } from './verify/borsh.js';

const U64_MAX = (1n << 64n) - 1n;

export class BorshWriter {
  private parts: Uint8Array[] = [];

  private push(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }

  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`u8: ${v} out of range`);
    return this.push(Uint8Array.of(v));
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new RangeError(`u32: ${v} out of range`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    return this.push(b);
  }

  i32(v: number): this {
    if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0x7fff_ffff) throw new RangeError(`i32: ${v} out of range`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return this.push(b);
  }

  u64(v: bigint | number): this {
    const n = BigInt(v);
    if (n < 0n || n > U64_MAX) throw new RangeError(`u64: ${v} out of range`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, n, true);
    return this.push(b);
  }

  /** Raw bytes with no length prefix (keys, signatures, hashes). */
  fixed(b: Uint8Array, len: number, what = 'bytes'): this {
    if (b.length !== len) throw new RangeError(`${what}: expected ${len} bytes, got ${b.length}`);
    return this.push(b);
  }

  /** A `u32`-length-prefixed byte vector. */
  bytes(b: Uint8Array): this {
    return this.u32(b.length).push(b);
  }

  string(s: string): this {
    return this.bytes(utf8(s));
  }

  vec<T>(items: readonly T[], write: (w: BorshWriter, item: T) => void): this {
    this.u32(items.length);
    for (const it of items) write(this, it);
    return this;
  }

  option<T>(v: T | null | undefined, write: (w: BorshWriter, item: T) => void): this {
    if (v === null || v === undefined) return this.u8(0);
    this.u8(1);
    write(this, v);
    return this;
  }

  finish(): Uint8Array {
    return concat(...this.parts);
  }
}
