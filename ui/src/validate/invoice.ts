/**
 * The arithmetic the chain applies to a new invoice (domain/src/invoice.rs `validate_lines`), done in the
 * browser with BigInt so the form can show the totals live and refuse what the chain would refuse:
 * quantity × unit price in fen rounded half up, tax = amount × rate rounded half up per line, a stated
 * line figure may differ from the computed one by at most one fen, and the totals are the sums of the
 * lines.
 */
import { parseYuan } from '../money/fen';

/** Rounding tolerance between a stated and a computed line figure, in fen (the chain's). */
export const LINE_TOLERANCE_FEN = 1n;

/** A non-negative decimal of up to 12 integer and 6 fraction digits → (mantissa, scale), else null. */
export function parseDecimal(s: string): { mantissa: bigint; scale: number } | null {
  const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) return null;
  const frac = m[2] ?? '';
  return { mantissa: BigInt(m[1]! + frac), scale: frac.length };
}

/** quantity × unit price (元) in fen, rounded half up; null if either is not a decimal. */
export function lineValueFen(quantity: string, unitPrice: string): bigint | null {
  const q = parseDecimal(quantity);
  const p = parseDecimal(unitPrice);
  if (!q || !p) return null;
  const num = q.mantissa * p.mantissa * 100n;
  const den = 10n ** BigInt(q.scale + p.scale);
  return (num + den / 2n) / den;
}

/** Tax of a line amount at a rate in basis points, rounded half up. */
export function lineTaxFen(amount: bigint, rateBp: bigint): bigint {
  return (amount * rateBp + 5_000n) / 10_000n;
}

/** Rate as typed (`13`, `6`, `0.5` %) → basis points, or null (at most two decimals, 0–100 %). */
export function parseRatePercent(s: string): bigint | null {
  const bp = parseYuan(s.trim());
  return bp !== null && bp <= 10_000n ? bp : null;
}

export interface LineInput {
  quantity?: string | undefined;
  unitPrice?: string | undefined;
  /** 金额 (excluding tax) in 元 as typed. */
  amount?: string | undefined;
  /** 税率 in % as typed. */
  taxRate?: string | undefined;
  /** 税额 in 元 as typed; empty = computed. */
  taxAmount?: string | undefined;
}

export type LineProblem =
  | { field: 'amount' | 'taxRate' | 'taxAmount' | 'quantity' | 'unitPrice'; kind: 'invalid' }
  | { field: 'quantity'; kind: 'pair' }
  | { field: 'amount' | 'taxAmount'; kind: 'mismatch'; expected: bigint };

export interface LineResult {
  amount: bigint;
  rateBp: bigint;
  tax: bigint;
  problems: LineProblem[];
}

/**
 * One line as the chain will judge it. With quantity and unit price and no amount typed, the amount is
 * computed; with no tax typed, the tax is computed.
 */
export function checkLine(l: LineInput): LineResult {
  const problems: LineProblem[] = [];
  const q = l.quantity?.trim() ?? '';
  const p = l.unitPrice?.trim() ?? '';
  let computed: bigint | null = null;
  if (q !== '' || p !== '') {
    if (q === '' || p === '') problems.push({ field: 'quantity', kind: 'pair' });
    else {
      if (!parseDecimal(q)) problems.push({ field: 'quantity', kind: 'invalid' });
      if (!parseDecimal(p)) problems.push({ field: 'unitPrice', kind: 'invalid' });
      computed = lineValueFen(q, p);
    }
  }
  const typedAmount = l.amount?.trim() ? parseYuan(l.amount) : undefined;
  if (typedAmount === null) problems.push({ field: 'amount', kind: 'invalid' });
  const amount = typedAmount ?? computed ?? 0n;
  if (typedAmount != null && computed !== null && abs(typedAmount - computed) > LINE_TOLERANCE_FEN) {
    problems.push({ field: 'amount', kind: 'mismatch', expected: computed });
  }
  const rateBp = l.taxRate?.trim() ? parseRatePercent(l.taxRate) : null;
  if (rateBp === null) problems.push({ field: 'taxRate', kind: 'invalid' });
  const expectedTax = lineTaxFen(amount, rateBp ?? 0n);
  const typedTax = l.taxAmount?.trim() ? parseYuan(l.taxAmount) : undefined;
  if (typedTax === null) problems.push({ field: 'taxAmount', kind: 'invalid' });
  if (typedTax != null && abs(typedTax - expectedTax) > LINE_TOLERANCE_FEN) {
    problems.push({ field: 'taxAmount', kind: 'mismatch', expected: expectedTax });
  }
  return { amount, rateBp: rateBp ?? 0n, tax: typedTax ?? expectedTax, problems };
}

export interface Totals {
  totalAmount: bigint;
  totalTax: bigint;
  totalWithTax: bigint;
}

/** The header totals of lines: what the chain requires `totalAmount`, `totalTax`, `totalWithTax` to be. */
export function invoiceTotals(lines: readonly LineResult[]): Totals {
  const totalAmount = lines.reduce((s, l) => s + l.amount, 0n);
  const totalTax = lines.reduce((s, l) => s + l.tax, 0n);
  return { totalAmount, totalTax, totalWithTax: totalAmount + totalTax };
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}
