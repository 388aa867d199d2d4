import type { AlertFieldsFragment, AlertRuleFieldsFragment } from '../../api/generated';
import type { Translate } from '../../i18n/I18nProvider';

/** Units of the reading types the demo devices send. */
export function unitOf(readingType: string | null | undefined): string {
  switch (readingType) {
    case 'temperature':
      return '°C';
    case 'humidity':
      return '%RH';
    case 'weight':
      return 'kg';
    default:
      return '';
  }
}

/** Milli-units (rule bounds, alert observations) → the reading's unit, exactly as text (8000 → "8"). */
export function fromMilli(milli: number): string {
  const neg = milli < 0;
  const abs = Math.abs(milli);
  const whole = Math.floor(abs / 1000);
  const frac = (abs % 1000).toString().padStart(3, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** A rule in words: "湿度 > 70 %RH 持续 20 秒". */
export function describeRule(r: AlertRuleFieldsFragment, t: Translate): string {
  const unit = unitOf(r.readingType);
  switch (r.rule) {
    case 'THRESHOLD': {
      const band = [
        r.min !== null ? `≥ ${fromMilli(r.min)}` : null,
        r.max !== null ? `≤ ${fromMilli(r.max)}` : null,
      ]
        .filter(Boolean)
        .join(t('rule.and'));
      return t('rule.threshold', { quantity: readingLabel(r.readingType, t), band, unit, seconds: Math.round((r.forMs ?? 0) / 1000) });
    }
    case 'RATE_OF_CHANGE':
      return t('rule.rate', { quantity: readingLabel(r.readingType, t), seconds: Math.round((r.windowMs ?? 0) / 1000) });
    case 'SILENCE':
      return t('rule.silence', { seconds: Math.round((r.maxGapMs ?? 0) / 1000) });
  }
}

export function readingLabel(readingType: string | null | undefined, t: Translate): string {
  switch (readingType) {
    case 'temperature':
      return t('reading.temperature');
    case 'humidity':
      return t('reading.humidity');
    default:
      return readingType ?? '';
  }
}

/** The observed value of an alert with its unit, or '' when the rule has none (silence). */
export function observed(a: AlertFieldsFragment): string {
  return a.observation.value === null ? '' : `${fromMilli(a.observation.value)} ${unitOf(a.observation.readingType)}`;
}
