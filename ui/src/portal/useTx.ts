import { App } from 'antd';
import { useCallback, useState } from 'react';

import { describeError } from '../api/errors';
import { useI18n } from '../i18n/I18nProvider';

/**
 * Run a transaction-submitting mutation: `busy` while the chain commits it (the server answers after
 * commit), a message with the block height when done, the reason when refused.
 */
export function useTx() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [busy, setBusy] = useState<string | null>(null);
  const run = useCallback(
    async <R extends object>(label: string, submit: () => Promise<R>): Promise<R | null> => {
      setBusy(label);
      const key = `tx-${label}`;
      void message.open({ key, type: 'loading', content: t('tx.submitting', { action: label }), duration: 0 });
      try {
        const r = await submit();
        const height = firstHeight(r);
        void message.open({
          key,
          type: 'success',
          content: height === null ? t('tx.done', { action: label }) : t('tx.committed', { action: label, height }),
          duration: 4,
        });
        return r;
      } catch (e) {
        void message.open({ key, type: 'error', content: t('tx.failed', { action: label, reason: describeError(e, t) }), duration: 8 });
        return null;
      } finally {
        setBusy(null);
      }
    },
    [message, t],
  );
  return { run, busy };
}

/** `{ splitVoucher: { txId, height } }` → height. */
function firstHeight(r: object): number | null {
  for (const v of Object.values(r)) {
    if (v && typeof v === 'object' && 'height' in v && typeof (v as { height: unknown }).height === 'number') {
      return (v as { height: number }).height;
    }
  }
  return null;
}
