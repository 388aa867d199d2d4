import { formatMoney } from '../money/fen';

/** An amount in integer fen shown in 元, right-aligned digits for tables. */
export function Money({ fen, currency = 'CNY' }: { fen: number | bigint; currency?: string }) {
  return <span style={{ fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap' }}>{formatMoney(fen, currency)}</span>;
}
