import type { Reading, SensorSeries } from '../api/types';

/** A maximal run of consecutive readings outside [min, max]. */
export interface Excursion {
  fromMs: number;
  toMs: number;
  /** The reading furthest outside the band. */
  peak: number;
  count: number;
}

export function isOutside(r: Reading, s: Pick<SensorSeries, 'min' | 'max'>): boolean {
  return r.value < s.min || r.value > s.max;
}

/** Excursions of a series, in time order (readings are sorted first). */
export function excursions(s: SensorSeries): Excursion[] {
  const readings = [...s.readings].sort((a, b) => a.timeMs - b.timeMs);
  const out: Excursion[] = [];
  let cur: Excursion | null = null;
  for (const r of readings) {
    if (isOutside(r, s)) {
      const distance = (v: number) => Math.max(s.min - v, v - s.max);
      if (cur === null) {
        cur = { fromMs: r.timeMs, toMs: r.timeMs, peak: r.value, count: 1 };
        out.push(cur);
      } else {
        cur.toMs = r.timeMs;
        cur.count += 1;
        if (distance(r.value) > distance(cur.peak)) cur.peak = r.value;
      }
    } else {
      cur = null;
    }
  }
  return out;
}
