/**
 * Identifiers a form checks before anything is signed, so a typo is named at the field instead of
 * coming back as a refused transaction: GS1 keys (mod-10 check digit), 统一社会信用代码 (GB 32100-2015),
 * 数电票 numbers, calendar dates and SM2 public keys.
 */

/**
 * The GS1 mod-10 check digit of `body` (the key without its last digit): digits are weighted 3, 1, 3, …
 * from the right, and the check digit brings the sum up to a multiple of ten (GS1 General
 * Specifications §7.9.1). Returns null when `body` is not all digits.
 */
export function gs1CheckDigit(body: string): number | null {
  if (!/^\d+$/.test(body)) return null;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const d = body.charCodeAt(body.length - 1 - i) - 48;
    sum += i % 2 === 0 ? d * 3 : d;
  }
  return (10 - (sum % 10)) % 10;
}

export type Gs1Problem = 'digits' | 'length' | 'check';

/** Why `key` is not a GS1 key of one of `lengths`, or null when it is one. */
export function gs1Problem(key: string, lengths: readonly number[]): Gs1Problem | null {
  if (!/^\d+$/.test(key)) return 'digits';
  if (!lengths.includes(key.length)) return 'length';
  return gs1CheckDigit(key.slice(0, -1)) === Number(key.slice(-1)) ? null : 'check';
}

/** GTIN-8, -12, -13 or -14 (the chain pads each to 14 digits; the check digit is unchanged by padding). */
export const GTIN_LENGTHS = [8, 12, 13, 14] as const;
/** GLN: 13 digits. */
export const GLN_LENGTHS = [13] as const;
/** SSCC: 18 digits (extension digit, company prefix, serial reference, check digit). */
export const SSCC_LENGTHS = [18] as const;

/**
 * GB 32100-2015 character set: the digits and the capital letters without I, O, Z, S and V (31 characters);
 * a character's value is its position here.
 */
export const USCC_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
/** Weights of positions 1–17: 3^(i) mod 31. */
export const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;

/** The 18th (check) character for the first 17 characters, or null if one is outside the character set. */
export function usccCheckChar(first17: string): string | null {
  if (first17.length !== 17) return null;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = USCC_CHARSET.indexOf(first17[i]!);
    if (v < 0) return null;
    sum += v * USCC_WEIGHTS[i]!;
  }
  return USCC_CHARSET[(31 - (sum % 31)) % 31]!;
}

export type UsccProblem = 'length' | 'charset' | 'check';

/** Why `code` is not a 统一社会信用代码, or null when it is one. */
export function usccProblem(code: string): UsccProblem | null {
  if (code.length !== 18) return 'length';
  if (![...code].every((c) => USCC_CHARSET.includes(c))) return 'charset';
  return usccCheckChar(code.slice(0, 17)) === code[17] ? null : 'check';
}

/** A 数电票 (fully digital e-invoice) number: exactly 20 digits. */
export function isInvoiceNumber(s: string): boolean {
  return /^\d{20}$/.test(s);
}

/** `YYYY-MM-DD` naming a real day of the Gregorian calendar. */
export function isIsoDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  return d <= days;
}

/** An SM2 public key as the chain takes it: 65 bytes uncompressed (`04` ‖ x ‖ y), hex. */
export function isSm2PublicKey(s: string): boolean {
  return /^04[0-9a-fA-F]{128}$/.test(s);
}

/** An account address: 20 bytes, hex (SM3 of the public key, truncated). */
export function isAddress(s: string): boolean {
  return /^[0-9a-fA-F]{40}$/.test(s);
}

/** Ids the workflow and voucher modules take (voucher numbers, application ids): 1–40 of A-Z 0-9 - _. */
export function isUpperId(s: string): boolean {
  return /^[A-Z0-9_-]{1,40}$/.test(s);
}

/** Receipt numbers (仓单编号): 1–40 of A-Z a-z 0-9 - _. */
export function isReceiptNumber(s: string): boolean {
  return /^[A-Za-z0-9_-]{1,40}$/.test(s);
}

/** Device ids: 1–64 of A-Z a-z 0-9 . _ -. */
export function isDeviceId(s: string): boolean {
  return /^[A-Za-z0-9._-]{1,64}$/.test(s);
}
