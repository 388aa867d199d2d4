import { Tag } from 'antd';

import type { VoucherFieldsFragment } from '../../api/generated';
import { useI18n } from '../../i18n/I18nProvider';

const COLORS: Record<VoucherFieldsFragment['status'], string> = {
  PENDING: 'gold',
  ACTIVE: 'green',
  REJECTED: 'red',
  SPLIT: 'default',
  SETTLED: 'blue',
};

export function VoucherStatusTag({ voucher }: { voucher: Pick<VoucherFieldsFragment, 'status' | 'frozen' | 'offeredTo' | 'financedBy'> & { overdue?: boolean } }) {
  const { t } = useI18n();
  return (
    <span>
      <Tag color={COLORS[voucher.status]}>{t(`voucher.status.${voucher.status}`)}</Tag>
      {voucher.overdue && <Tag color="red">{t('voucher.overdue')}</Tag>}
      {voucher.frozen && <Tag color="magenta">{t('voucher.frozen')}</Tag>}
      {voucher.offeredTo && !voucher.financedBy && <Tag color="purple">{t('voucher.offered')}</Tag>}
      {voucher.financedBy && <Tag color="cyan">{t('voucher.financed')}</Tag>}
    </span>
  );
}
