import { App } from 'antd';
import { createElement, useCallback, useState } from 'react';

import { describeError } from '../api/errors';
import { useI18n } from '../i18n/I18nProvider';

/** Where an action landed on chain. */
export interface TxOutcome {
  label: string;
  height: number;
  txId: string;
}

/**
 * Run a transaction-submitting mutation: `busy` while the chain commits it (the server answers after
 * commit), a message with the block height (linked to the explorer) when done, the reason when refused.
 * `last` keeps the latest outcome so a form can show it after the message fades.
 */
export function useTx() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [busy, setBusy] = useState<string | null>(null);
  const [last, setLast] = useState<TxOutcome | null>(null);
  const run = useCallback(
    async <R extends object>(label: string, submit: () => Promise<R>): Promise<R | null> => {
      setBusy(label);
      const key = `tx-${label}`;
      void message.open({ key, type: 'loading', content: t('tx.submitting', { action: label }), duration: 0 });
      try {
        const r = await submit();
        const tx = firstTx(r);
        if (tx) setLast({ label, ...tx });
        void message.open({
          key,
          type: 'success',
          content:
            tx === null
              ? t('tx.done', { action: label })
              : // The message lives outside the router: a plain link to the explorer's block page.
                createElement('span', null, t('tx.committed', { action: label, height: tx.height }), ' ', createElement('a', { href: `/explorer/blocks/${tx.height}` }, t('tx.viewBlock'))),
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
  return { run, busy, last };
}

/** `{ splitVoucher: { txId, height } }` or `{ captureEpcis: { transactions: [{ txId, height }, …] } }` → the last one. */
export function firstTx(r: unknown): { height: number; txId: string } | null {
  if (!r || typeof r !== 'object') return null;
  const o = r as Record<string, unknown>;
  if (typeof o.height === 'number' && typeof o.txId === 'string') return { height: o.height, txId: o.txId };
  let found: { height: number; txId: string } | null = null;
  for (const v of Array.isArray(r) ? r : Object.values(o)) {
    const x = firstTx(v);
    if (x) found = x;
  }
  return found;
}
