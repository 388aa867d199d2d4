import { describe, expect, it } from 'vitest';

import { parseYuan } from '../money/fen';
import { checkLine, invoiceTotals, lineTaxFen, lineValueFen, parseDecimal } from './invoice';
import {
  GLN_LENGTHS,
  GTIN_LENGTHS,
  gs1CheckDigit,
  gs1Problem,
  isInvoiceNumber,
  isIsoDate,
  isSm2PublicKey,
  SSCC_LENGTHS,
  usccCheckChar,
  usccProblem,
} from './keys';
import { passwordProblem } from './password';

// Reference values: GS1 keys and check characters below agree with python-stdnum 2.2 (`stdnum.ean`,
// `stdnum.cn.uscc`), an independent implementation of the same standards.
describe('GS1 mod-10 check digits', () => {
  it('computes the published examples', () => {
    expect(gs1CheckDigit('400638133393')).toBe(1); // GTIN-13 4006381333931
    expect(gs1CheckDigit('0690123400033')).toBe(7); // GTIN-14 of the demo yogurt
    expect(gs1CheckDigit('061414100001')).toBe(2); // GLN 0614141000012 (GS1 US example company)
    expect(gs1CheckDigit('9638507')).toBe(4); // GTIN-8 96385074
    expect(gs1CheckDigit('03600029145')).toBe(2); // GTIN-12 (UPC-A) 036000291452
    expect(gs1CheckDigit('10614141123456789')).toBe(7); // SSCC 106141411234567897
    expect(gs1CheckDigit('12a')).toBeNull();
  });
  it('names what is wrong with a key', () => {
    expect(gs1Problem('4006381333931', GTIN_LENGTHS)).toBeNull();
    expect(gs1Problem('4006381333932', GTIN_LENGTHS)).toBe('check');
    expect(gs1Problem('400638133393', GLN_LENGTHS)).toBe('length');
    expect(gs1Problem('0614141000012', GLN_LENGTHS)).toBeNull();
    expect(gs1Problem('106141411234567897', SSCC_LENGTHS)).toBeNull();
    expect(gs1Problem('106141411234567898', SSCC_LENGTHS)).toBe('check');
    expect(gs1Problem('06901234O00337', GTIN_LENGTHS)).toBe('digits');
  });
  it('catches every single-digit substitution', () => {
    const key = '06901234000337';
    for (let i = 0; i < key.length; i++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === key[i]) continue;
        const bad = key.slice(0, i) + d + key.slice(i + 1);
        expect(gs1Problem(bad, GTIN_LENGTHS)).toBe('check');
      }
    }
  });
});

describe('统一社会信用代码 (GB 32100-2015)', () => {
  it('accepts published codes and computes their check character', () => {
    expect(usccProblem('91350100M000100Y43')).toBeNull();
    expect(usccProblem('9144030071526726XG')).toBeNull();
    expect(usccCheckChar('91350100M000100Y4')).toBe('3');
    expect(usccCheckChar('9144030071526726X')).toBe('G');
    expect(usccCheckChar('91310115MA1H7XN2R')).toBe('2');
  });
  it('refuses the wrong check character, a letter outside the set, and the wrong length', () => {
    expect(usccProblem('91350100M000100Y44')).toBe('check');
    // I, O, Z, S and V are not in the character set.
    for (const c of 'IOZSV') expect(usccProblem(`91350100M000100Y4${c}`)).toBe('charset');
    expect(usccProblem('91310000MA1FL5HS01')).toBe('charset');
    expect(usccProblem('91350100M000100Y4')).toBe('length');
    expect(usccProblem('91350100m000100Y43')).toBe('charset');
  });
  it('every position is weighted: changing any character changes the check', () => {
    const code = '91350100M000100Y43';
    for (let i = 0; i < 17; i++) {
      const other = code[i] === '1' ? '2' : '1';
      expect(usccProblem(code.slice(0, i) + other + code.slice(i + 1))).toBe('check');
    }
  });
});

describe('other identifiers', () => {
  it('数电票 numbers are 20 digits', () => {
    expect(isInvoiceNumber('26312000000000180001')).toBe(true);
    expect(isInvoiceNumber('2631200000000018000')).toBe(false);
    expect(isInvoiceNumber('2631200000000018000X')).toBe(false);
  });
  it('dates are real calendar days', () => {
    expect(isIsoDate('2028-02-29')).toBe(true);
    expect(isIsoDate('2027-02-29')).toBe(false);
    expect(isIsoDate('2100-02-29')).toBe(false);
    expect(isIsoDate('2000-02-29')).toBe(true);
    expect(isIsoDate('2026-13-01')).toBe(false);
    expect(isIsoDate('2026-4-01')).toBe(false);
  });
  it('SM2 public keys are 65 bytes uncompressed', () => {
    expect(isSm2PublicKey(`04${'ab'.repeat(64)}`)).toBe(true);
    expect(isSm2PublicKey(`02${'ab'.repeat(32)}`)).toBe(false);
  });
});

describe('元 → 分 as the forms send it', () => {
  it('parses decimal strings exactly, never through a float', () => {
    expect(parseYuan('0.1')! + parseYuan('0.2')!).toBe(30n);
    expect(parseYuan('1,234,567.89')).toBe(123456789n);
    expect(parseYuan('21474836.47')).toBe(2147483647n);
    expect(parseYuan('1.005')).toBeNull();
    expect(parseYuan('-1')).toBeNull();
    expect(parseYuan('1e3')).toBeNull();
  });
});

describe('invoice lines and totals (the chain’s arithmetic)', () => {
  it('quantity × unit price in fen, rounded half up', () => {
    expect(lineValueFen('4000', '300.00')).toBe(120000000n);
    expect(lineValueFen('3', '0.335')).toBe(101n); // 1.005 元 → 100.5 fen → 101
    expect(lineValueFen('1.5', '0.01')).toBe(2n); // 1.5 fen → 2
    expect(lineValueFen('1', 'abc')).toBeNull();
    expect(parseDecimal('1234567890123')).toBeNull();
    expect(parseDecimal('1.1234567')).toBeNull();
    expect(parseDecimal('1.')).toBeNull();
  });
  it('tax per line rounded half up', () => {
    expect(lineTaxFen(120000000n, 1300n)).toBe(15600000n);
    expect(lineTaxFen(50n, 1300n)).toBe(7n); // 6.5 → 7
    expect(lineTaxFen(46n, 1300n)).toBe(6n); // 5.98 → 6
  });
  it('computes the seeded invoice’s totals', () => {
    const lines = [
      checkLine({ quantity: '4000', unitPrice: '300.00', taxRate: '13' }),
      checkLine({ quantity: '2000', unitPrice: '400.00', taxRate: '13' }),
    ];
    expect(lines.flatMap((l) => l.problems)).toEqual([]);
    expect(invoiceTotals(lines)).toEqual({ totalAmount: 200000000n, totalTax: 26000000n, totalWithTax: 226000000n });
  });
  it('names the line figure that disagrees, within the one-fen tolerance', () => {
    expect(checkLine({ quantity: '3', unitPrice: '0.335', amount: '1.00', taxRate: '13' }).problems).toEqual([]);
    expect(checkLine({ quantity: '3', unitPrice: '0.335', amount: '0.99', taxRate: '13' }).problems).toEqual([
      { field: 'amount', kind: 'mismatch', expected: 101n },
    ]);
    expect(checkLine({ amount: '100', taxRate: '13', taxAmount: '13.02' }).problems).toEqual([
      { field: 'taxAmount', kind: 'mismatch', expected: 1300n },
    ]);
    expect(checkLine({ quantity: '3', amount: '1', taxRate: '13' }).problems).toEqual([{ field: 'quantity', kind: 'pair' }]);
    expect(checkLine({ amount: '1', taxRate: '101' }).problems).toEqual([{ field: 'taxRate', kind: 'invalid' }]);
  });
});

describe('sensor values in milli-units', async () => {
  const { parseMilli, formatMilli } = await import('./milli');
  it('parses and formats without floats', () => {
    expect(parseMilli('8')).toBe(8000);
    expect(parseMilli('-18.5')).toBe(-18500);
    expect(parseMilli('70.125')).toBe(70125);
    expect(parseMilli('0.1234')).toBeNull();
    expect(parseMilli('8e3')).toBeNull();
    expect(formatMilli(-18500)).toBe('-18.5');
    expect(formatMilli(70000)).toBe('70');
  });
});

describe('passwords (the server’s rule: 8 characters, 256 bytes)', () => {
  it('counts characters for the minimum and UTF-8 bytes for the maximum', () => {
    expect(passwordProblem('1234567')).toBe('short');
    expect(passwordProblem('12345678')).toBeNull();
    // Seven CJK characters are 21 bytes but still too few characters.
    expect(passwordProblem('供应链金融平台')).toBe('short');
    expect(passwordProblem('供应链金融平台密')).toBeNull();
    expect(passwordProblem('a'.repeat(256))).toBeNull();
    expect(passwordProblem('a'.repeat(257))).toBe('long');
    // 85 CJK characters are 255 bytes; 86 are 258.
    expect(passwordProblem('密'.repeat(85))).toBeNull();
    expect(passwordProblem('密'.repeat(86))).toBe('long');
  });
});
