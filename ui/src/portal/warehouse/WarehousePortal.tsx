import { Typography } from 'antd';

import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { MyTasks } from '../MyTasks';
import { PortalTabs } from '../PortalTabs';
import { AlertsTable } from './AlertsTable';
import { BinsView } from './BinsView';
import { ReceiptsTable } from './ReceiptsTable';
import { DevicesView } from './DevicesView';
import { IssueReceiptForm } from './receiptForms';
import { WorkflowPanel } from '../workflow/WorkflowPanel';

/** Warehouse: receipts issued here, pledged receipts and pledge tasks, bins with live IoT readings, alerts. */
export function WarehousePortal() {
  const { t } = useI18n();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  const regulator = session?.organisation.roles.includes('regulator') ?? false;
  return (
    <PortalTabs
      title={t('nav.warehouse_operator')}
      tabs={[
        { key: 'receipts', label: t('warehouse.receipts'), children: <ReceiptsTable label={t('warehouse.receipts')} filter={regulator ? {} : { warehouse: me }} /> },
        {
          key: 'pledges',
          label: t('warehouse.pledges'),
          children: (
            <>
              <ReceiptsTable label={t('warehouse.pledges')} filter={regulator ? {} : { warehouse: me }} where={(r) => r.pledge !== null} />
              <Typography.Title level={4}>{t('tasks.workflow')}</Typography.Title>
              <MyTasks label={t('tasks.workflow')} />
              <Typography.Title level={4}>{t('workflow.lookup')}</Typography.Title>
              <WorkflowPanel />
            </>
          ),
        },
        { key: 'issue', label: t('receiptForm.issue'), children: <IssueReceiptForm /> },
        { key: 'devices', label: t('device.title'), children: <DevicesView {...(regulator ? {} : { owner: me })} /> },
        { key: 'bins', label: t('warehouse.bins'), children: <BinsView {...(regulator ? {} : { owner: me })} /> },
        { key: 'alerts', label: t('warehouse.alerts'), children: <AlertsTable label={t('warehouse.alerts')} /> },
      ]}
    />
  );
}
