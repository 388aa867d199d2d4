import { describe, expect, it } from 'vitest';

import type { AlertRuleFieldsFragment } from '../../api/generated';
import { translator } from '../../i18n/I18nProvider';
import { excursions } from '../../scan/excursions';
import { describeRule, fromMilli } from './alerts';
import { bands, limits } from './readings';

const rule = (p: Partial<AlertRuleFieldsFragment>): AlertRuleFieldsFragment => ({
  rule: 'THRESHOLD',
  readingType: null,
  min: null,
  max: null,
  forMs: null,
  limitMilli: null,
  limitPermille: null,
  windowMs: null,
  maxGapMs: null,
  ...p,
});

describe('bins: live readings against thresholds', () => {
  const humidityMax = rule({ readingType: 'humidity', max: 70000, forMs: 20000 });
  const readings = [
    { timeMs: 3, readingType: 'humidity', value: 86, unit: '%RH' },
    { timeMs: 1, readingType: 'humidity', value: 55, unit: '%RH' },
    { timeMs: 2, readingType: 'temperature', value: 18.5, unit: '°C' },
    { timeMs: 4, readingType: 'humidity', value: 86.5, unit: '%RH' },
    { timeMs: 5, readingType: 'humidity', value: 55, unit: '%RH' },
  ];
  it('splits readings by type, sorted, with the threshold band of the matching rule', () => {
    const b = bands(readings, [humidityMax]);
    expect(b.map((x) => [x.readingType, x.min, x.max])).toEqual([
      ['humidity', null, 70],
      ['temperature', null, null],
    ]);
    expect(b[0]!.readings.map((r) => r.timeMs)).toEqual([1, 3, 4, 5]);
  });
  it('finds the excursion above a one-sided band', () => {
    const [h] = bands(readings, [humidityMax]);
    const exc = excursions({ deviceId: 'd', quantity: 'humidity', unit: '%RH', ...limits(h!), readings: h!.readings });
    expect(exc).toEqual([{ fromMs: 3, toMs: 4, peak: 86.5, count: 2 }]);
  });
  it('describes rules and milli-unit values exactly', () => {
    const t = translator('zh-CN');
    expect(fromMilli(70000)).toBe('70');
    expect(fromMilli(8500)).toBe('8.5');
    expect(fromMilli(-1250)).toBe('-1.25');
    expect(describeRule(humidityMax, t)).toBe('湿度须 ≤ 70 %RH（超限持续 20 秒即告警）');
    expect(describeRule(rule({ rule: 'SILENCE', maxGapMs: 60000 }), translator('en'))).toBe('No reading for 60 s');
  });
});
