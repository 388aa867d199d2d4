import { WarningFilled } from '@ant-design/icons';
import { Alert, Space } from 'antd';

import type { LotWarning } from '../api/types';
import { formatTime } from '../explorer/format';
import { useI18n } from '../i18n/I18nProvider';

/** The title of a warning: a recall, an open alert, or an alert its owner has since cleared. */
export function warningTitleKey(w: LotWarning): 'warn.title.recall' | 'warn.title.cold_chain_alert' | 'warn.title.cleared' {
  if (w.kind === 'recall') return 'warn.title.recall';
  return w.status === 'open' ? 'warn.title.cold_chain_alert' : 'warn.title.cleared';
}

/**
 * What the consumer must know first, above everything else on the page: each warning says what happened,
 * when (block time and height) and who recorded it. A recall or an open alert is red; a cleared alert stays
 * visible in amber (it still happened to this lot).
 */
export function LotWarnings({ warnings }: { warnings: readonly LotWarning[] }) {
  const { t, locale } = useI18n();
  if (warnings.length === 0) return null;
  return (
    <Space direction="vertical" style={{ width: '100%' }} role="region" aria-label={t('warn.list')} data-testid="lot-warnings">
      {warnings.map((w) => (
        <Alert
          key={`${w.kind}-${w.reference}`}
          type={w.kind === 'recall' || w.status === 'open' ? 'error' : 'warning'}
          showIcon
          icon={<WarningFilled />}
          role="alert"
          data-kind={w.kind}
          message={<strong style={{ fontSize: 16 }}>{t(warningTitleKey(w))}</strong>}
          description={
            <div>
              <div>{t('warn.what', { reason: w.reason })}</div>
              <div>{t('warn.when', { time: formatTime(w.timeMs, locale), height: w.height })}</div>
              <div>{t(w.byRegulator ? 'warn.who.regulator' : 'warn.who', { org: w.recordedBy.orgName })}</div>
              {w.deviceId && <div>{t('warn.device', { device: w.deviceId })}</div>}
              {w.clearedReason && <div>{t('warn.cleared', { reason: w.clearedReason })}</div>}
            </div>
          }
        />
      ))}
    </Space>
  );
}
