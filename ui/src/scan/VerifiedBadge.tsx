import { CheckCircleFilled, CloseCircleFilled, ExclamationCircleFilled, LoadingOutlined, MinusCircleOutlined } from '@ant-design/icons';
import { Alert } from 'antd';

import { useI18n } from '../i18n/I18nProvider';
import type { LotVerification } from './useVerification';

/** The lot's "verified on chain" badge, computed in the browser by `useVerification`. */
export function VerifiedBadge({ verification, warned = false }: { verification: LotVerification; warned?: boolean }) {
  const { t } = useI18n();
  const { status, steps } = verification;
  if (status === 'checking') {
    return <Alert type="info" showIcon icon={<LoadingOutlined />} message={t('verify.checking')} role="status" />;
  }
  if (status === 'verified') {
    const first = Object.values(steps).find((r) => r.verified === true);
    const detail =
      first && first.verified === true
        ? t('verify.verifiedDetail', {
            height: first.height,
            signers: first.signers.length,
            signed: first.signedPower,
            total: first.totalPower,
          })
        : undefined;
    // The records are authentic, but a recalled or alerted lot is not "all fine": no green badge then.
    return (
      <Alert
        type={warned ? 'warning' : 'success'}
        showIcon
        icon={warned ? <ExclamationCircleFilled /> : <CheckCircleFilled />}
        message={warned ? t('verify.verifiedWarned') : t('verify.verified')}
        description={detail}
        role="status"
        data-testid="verified-badge"
      />
    );
  }
  if (status === 'partial') {
    return <Alert type="warning" showIcon icon={<ExclamationCircleFilled />} message={t('verify.partial')} role="alert" />;
  }
  if (status === 'failed') {
    return <Alert type="error" showIcon icon={<CloseCircleFilled />} message={t('verify.failed')} role="alert" />;
  }
  return <Alert type="info" showIcon icon={<MinusCircleOutlined />} message={t('verify.none')} role="status" />;
}
