import type { Translate } from '../i18n/I18nProvider';
import type { VerifyFailure } from '../verify';

/** A user-facing sentence for why a proof did not verify. */
export function describeFailure(f: VerifyFailure, t: Translate): string {
  switch (f.check) {
    case 'malformed':
      return t('verify.failure.malformed', { field: f.field });
    case 'chain_id':
      return t('verify.failure.chain_id', { got: f.got });
    case 'receipt_failed':
      return t('verify.failure.receipt_failed', { code: f.code });
    default:
      return t(`verify.failure.${f.check}`);
  }
}
