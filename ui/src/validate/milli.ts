/**
 * Sensor values as the chain keeps them: integer milli-units of the reading's unit (8 °C = 8000,
 * 70 %RH = 70000). Parsed from what a user types by string arithmetic, like money.
 */
export function parseMilli(s: string): number | null {
  const m = /^(-?)(\d{1,9})(?:\.(\d{1,3}))?$/.exec(s.trim());
  if (!m) return null;
  const v = Number(m[2]) * 1000 + Number((m[3] ?? '').padEnd(3, '0'));
  return m[1] === '-' ? -v : v;
}

/** Milli-units → the decimal a user reads (`8000` → `8`, `-18500` → `-18.5`). */
export function formatMilli(v: number): string {
  const neg = v < 0;
  const a = Math.abs(v);
  const frac = String(a % 1000).padStart(3, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${Math.floor(a / 1000)}${frac ? `.${frac}` : ''}`;
}
