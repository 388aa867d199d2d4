import { Alert } from 'antd';

import { useI18n } from '../../i18n/I18nProvider';
import { PortalTabs } from '../PortalTabs';

/** Warehouse: receipts, pledges, bins with live IoT readings and alerts — wired when the API has them. */
export function WarehousePortal() {
  const { t } = useI18n();
  const pending = <Alert type="info" showIcon message={t('portal.apiPending')} />;
  return (
    <PortalTabs
      title={t('nav.warehouse_operator')}
      tabs={[
        { key: 'receipts', label: t('warehouse.receipts'), children: pending },
        { key: 'pledges', label: t('warehouse.pledges'), children: pending },
        { key: 'bins', label: t('warehouse.bins'), children: pending },
        { key: 'alerts', label: t('warehouse.alerts'), children: pending },
      ]}
    />
  );
}
