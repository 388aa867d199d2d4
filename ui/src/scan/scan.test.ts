import { describe, expect, it } from 'vitest';

import type { SensorSeries } from '../api/types';
import { checkLotLink, gtinCheckDigit, isValidGtin14, lotPath, lotUrl } from './digitalLink';
import { excursions } from './excursions';
import { summarise } from './useVerification';

describe('GS1 Digital Link', () => {
  it('checks GTIN-14 check digits', () => {
    expect(gtinCheckDigit('0690123400033')).toBe(7);
    expect(isValidGtin14('06901234000337')).toBe(true);
    expect(isValidGtin14('06901234000338')).toBe(false);
    expect(isValidGtin14('6901234000337')).toBe(false);
  });
  it('checks lots against GS1 character set 82 and length', () => {
    expect(checkLotLink('06901234000337', 'Y260302')).toBeNull();
    expect(checkLotLink('06901234000337', 'A-1/2')).toBeNull();
    expect(checkLotLink('06901234000337', '')).toBe('lot');
    expect(checkLotLink('06901234000337', 'x'.repeat(21))).toBe('lot');
    expect(checkLotLink('06901234000337', '批次')).toBe('lot');
    expect(checkLotLink('1', 'Y')).toBe('gtin');
  });
  it('builds the path and URL a QR code encodes', () => {
    expect(lotPath('06901234000337', 'A/1')).toBe('/01/06901234000337/10/A%2F1');
    expect(lotUrl('https://scf.example/', '06901234000337', 'Y260302')).toBe('https://scf.example/01/06901234000337/10/Y260302');
  });
});

describe('cold-chain excursions', () => {
  const series = (values: number[]): SensorSeries => ({
    deviceId: 'd1',
    quantity: 'temperature',
    unit: '°C',
    min: 2,
    max: 6,
    readings: values.map((value, i) => ({ timeMs: (values.length - i) * 1000, value })).reverse(),
  });
  it('groups consecutive out-of-band readings and keeps the peak', () => {
    // timeMs ascending after sort: values in reverse order of the array
    const s: SensorSeries = { ...series([]), readings: [4, 7, 9, 5, 1, 0.5, 3, 6].map((value, i) => ({ timeMs: i * 1000, value })) };
    expect(excursions(s)).toEqual([
      { fromMs: 1000, toMs: 2000, peak: 9, count: 2 },
      { fromMs: 4000, toMs: 5000, peak: 0.5, count: 2 },
    ]);
  });
  it('finds none inside the band (bounds included)', () => {
    expect(excursions(series([2, 6, 4]))).toEqual([]);
  });
});

describe('badge summary', () => {
  const ok = { verified: true } as never;
  const bad = { verified: false, failure: { check: 'receipt_proof' } } as const;
  const none = { verified: 'none' } as const;
  it('is verified only when every step verified', () => {
    expect(summarise([ok, ok])).toBe('verified');
    expect(summarise([ok, none])).toBe('partial');
    expect(summarise([ok, bad])).toBe('partial');
    expect(summarise([bad])).toBe('failed');
    expect(summarise([none])).toBe('none');
    expect(summarise([])).toBe('none');
  });
});

describe('bizStepName', () => {
  it('names CBV business steps for consumers in either language and keeps unknown ones as recorded', async () => {
    const { bizStepName } = await import('./ScanPage');
    expect(bizStepName('commissioning', 'zh-CN')).toBe('生产赋码');
    expect(bizStepName('shipping', 'en')).toBe('Shipped');
    expect(bizStepName('urn:example:custom-step', 'zh-CN')).toBe('urn:example:custom-step');
  });
});
