import { MAX_API_FEN, parseYuan } from '../../money/fen';

export interface DraftPart {
  to: string | undefined;
  /** What the user typed, in 元. */
  amount: string;
}

export type SplitCheck =
  | { ok: true; parts: { to: string; amount: bigint }[]; sum: bigint; remaining: 0n }
  | { ok: false; sum: bigint; remaining: bigint; problems: SplitProblem[] };

export type SplitProblem =
  | { kind: 'recipient'; index: number }
  | { kind: 'amount'; index: number }
  | { kind: 'zero'; index: number }
  | { kind: 'sum' }
  | { kind: 'count' };

/** Max parts per split (domain/src/voucher.rs MAX_PARTS). */
export const MAX_PARTS = 10;

/**
 * The live sum check of a split: every part has a recipient and a positive amount in 元 with at most two
 * decimals, and the parts sum exactly (in integer fen) to the voucher's amount.
 */
export function checkSplit(total: number | bigint, drafts: readonly DraftPart[]): SplitCheck {
  const problems: SplitProblem[] = [];
  const parts: { to: string; amount: bigint }[] = [];
  let sum = 0n;
  drafts.forEach((d, index) => {
    if (!d.to) problems.push({ kind: 'recipient', index });
    const fen = parseYuan(d.amount);
    if (fen === null || fen > MAX_API_FEN) {
      problems.push({ kind: 'amount', index });
      return;
    }
    if (fen === 0n) problems.push({ kind: 'zero', index });
    sum += fen;
    if (d.to) parts.push({ to: d.to, amount: fen });
  });
  if (drafts.length < 1 || drafts.length > MAX_PARTS) problems.push({ kind: 'count' });
  const remaining = BigInt(total) - sum;
  if (remaining !== 0n) problems.push({ kind: 'sum' });
  if (problems.length > 0) return { ok: false, sum, remaining, problems };
  return { ok: true, parts, sum, remaining: 0n };
}
