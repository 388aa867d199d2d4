import { describe, expect, it } from 'vitest';

import { formatFen, formatMoney, parseYuan, sumFen, toApiFen } from './fen';

describe('fen ↔ 元', () => {
  it('formats integer fen with two decimals and grouping', () => {
    expect(formatFen(0)).toBe('0.00');
    expect(formatFen(5)).toBe('0.05');
    expect(formatFen(300000000)).toBe('3,000,000.00');
    expect(formatFen(123456789n)).toBe('1,234,567.89');
    expect(formatFen(-150)).toBe('-1.50');
    expect(formatFen(123456789, { grouping: false })).toBe('1234567.89');
    expect(formatMoney(100)).toBe('¥1.00');
    expect(() => formatFen(1.5)).toThrow(RangeError);
  });
  it('parses what a user types into exact fen, never through a float', () => {
    expect(parseYuan('0.1')).toBe(10n);
    expect(parseYuan('0.29')).toBe(29n);
    expect(parseYuan('1,200,000')).toBe(120000000n);
    expect(parseYuan('1200000.5')).toBe(120000050n);
    expect(parseYuan(' 12. ')).toBe(1200n);
    for (const bad of ['', '-1', '1.234', 'abc', '1e3', '.5']) expect(parseYuan(bad), bad).toBeNull();
  });
  it('sums exactly where floats would not', () => {
    expect(sumFen([parseYuan('0.1')!, parseYuan('0.2')!])).toBe(30n);
    expect(sumFen([120000000, 80000000])).toBe(200000000n);
  });
  it('refuses amounts the API cannot carry', () => {
    expect(toApiFen(2147483647n)).toBe(2147483647);
    expect(() => toApiFen(2147483648n)).toThrow(RangeError);
    expect(() => toApiFen(-1n)).toThrow(RangeError);
  });
});
