/**
 * A strict Borsh reader for the few ledger objects the browser decodes (block headers, receipts). Like the
 * ledger's `codec::decode_canonical` it refuses short input, bad enum tags, invalid UTF-8 and trailing bytes,
 * each with an error naming the field.
 */

export class DecodeError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'DecodeError';
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export class BorshReader {
  private at = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  private take(n: number, field: string): Uint8Array {
    if (this.at + n > this.bytes.length) {
      throw new DecodeError(`${this.what}.${field}`, `input ends after ${this.bytes.length} bytes`);
    }
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  u8(field: string): number {
    return this.take(1, field)[0]!;
  }

  u32(field: string): number {
    const b = this.take(4, field);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }

  u64(field: string): bigint {
    const b = this.take(8, field);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }

  /** A fixed-size byte array written raw (hashes, addresses, keys, signatures). */
  fixed(n: number, field: string): Uint8Array {
    return this.take(n, field).slice();
  }

  /** A `u32`-length-prefixed byte vector. */
  bytesVec(field: string): Uint8Array {
    const n = this.u32(field);
    return this.take(n, field).slice();
  }

  string(field: string): string {
    const b = this.bytesVec(field);
    try {
      return UTF8.decode(b);
    } catch {
      throw new DecodeError(`${this.what}.${field}`, 'invalid UTF-8');
    }
  }

  /** A `u32`-length-prefixed sequence. Bounded by the remaining input so a forged length cannot allocate. */
  vec<T>(field: string, item: (r: BorshReader, i: number) => T): T[] {
    const n = this.u32(field);
    if (n > this.bytes.length - this.at) {
      throw new DecodeError(`${this.what}.${field}`, `length ${n} exceeds the remaining input`);
    }
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this, i));
    return out;
  }

  /** An enum or `Option` tag that must be below `variants`. */
  tag(field: string, variants: number): number {
    const t = this.u8(field);
    if (t >= variants) throw new DecodeError(`${this.what}.${field}`, `unknown tag ${t}`);
    return t;
  }

  /** Refuse trailing bytes. */
  end(): void {
    if (this.at !== this.bytes.length) {
      throw new DecodeError(this.what, `${this.bytes.length - this.at} trailing bytes`);
    }
  }
}
