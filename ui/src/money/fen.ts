/**
 * Money as the chain keeps it: integer 分 (fen). The UI shows 元 with two decimals and parses what a user
 * types into fen by string arithmetic — never through a float, so 0.1 + 0.2 cannot become 0.30000000000000004.
 */

/** `123456789` → `"1,234,567.89"`. Accepts number (must be a safe integer) or bigint. */
export function formatFen(fen: number | bigint, { grouping = true }: { grouping?: boolean } = {}): string {
  if (typeof fen === 'number' && !Number.isSafeInteger(fen)) throw new RangeError(`not an integer amount of fen: ${fen}`);
  const v = BigInt(fen);
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const yuan = (abs / 100n).toString();
  const cents = (abs % 100n).toString().padStart(2, '0');
  const grouped = grouping ? yuan.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : yuan;
  return `${neg ? '-' : ''}${grouped}.${cents}`;
}

/** `formatFen` with the currency sign: `¥1,234.00` for CNY, `USD 1,234.00` otherwise. */
export function formatMoney(fen: number | bigint, currency = 'CNY'): string {
  return currency === 'CNY' ? `¥${formatFen(fen)}` : `${currency} ${formatFen(fen)}`;
}

/**
 * What a user typed in 元 → integer fen, or `null` if it is not an amount: digits with an optional
 * decimal point and at most two decimals; grouping commas and spaces are allowed, a sign is not.
 */
export function parseYuan(text: string): bigint | null {
  const s = text.replace(/[,\s，]/g, '');
  const m = /^(\d+)(?:\.(\d{0,2}))?$/.exec(s);
  if (!m) return null;
  return BigInt(m[1]!) * 100n + BigInt((m[2] ?? '').padEnd(2, '0') || '0');
}

/** Sum of integer fen amounts, exactly. */
export function sumFen(amounts: readonly (number | bigint)[]): bigint {
  return amounts.reduce<bigint>((acc, a) => acc + BigInt(a), 0n);
}

/** Largest amount the API's `Int` (32-bit signed) can carry. */
export const MAX_API_FEN = 2_147_483_647n;

/** Fen as the API's `Int`; throws if it does not fit (the caller validates first). */
export function toApiFen(fen: bigint): number {
  if (fen < 0n || fen > MAX_API_FEN) throw new RangeError(`amount out of range: ${fen}`);
  return Number(fen);
}
