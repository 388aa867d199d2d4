import type { AlertRuleFieldsFragment, DeviceReadingsQuery } from '../../api/generated';
import { displayUnit } from '../../scan/units';

type Reading = DeviceReadingsQuery['device']['readings'][number];

export interface Band {
  readingType: string;
  unit: string;
  /** Allowed band from the device's THRESHOLD rule; a missing side is unbounded. */
  min: number | null;
  max: number | null;
  readings: { timeMs: number; value: number }[];
}

/**
 * One series per reading type, each with its threshold band from the device's rules (milli-units → units).
 * Readings are sorted by time.
 */
export function bands(readings: readonly Reading[], rules: readonly AlertRuleFieldsFragment[]): Band[] {
  const byType = new Map<string, Band>();
  for (const r of [...readings].sort((a, b) => a.timeMs - b.timeMs)) {
    let b = byType.get(r.readingType);
    if (!b) {
      const rule = rules.find((x) => x.rule === 'THRESHOLD' && x.readingType === r.readingType);
      b = {
        readingType: r.readingType,
        unit: displayUnit(r.unit),
        min: rule?.min != null ? rule.min / 1000 : null,
        max: rule?.max != null ? rule.max / 1000 : null,
        readings: [],
      };
      byType.set(r.readingType, b);
    }
    b.readings.push({ timeMs: r.timeMs, value: r.value });
  }
  // Bounded series first: they are the ones an operator watches.
  return [...byType.values()].sort((a, b) => Number(b.max !== null || b.min !== null) - Number(a.max !== null || a.min !== null));
}

/** The band as the excursion finder expects it (unbounded sides are infinite). */
export function limits(b: Band): { min: number; max: number } {
  return { min: b.min ?? -Infinity, max: b.max ?? Infinity };
}
