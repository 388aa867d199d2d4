import { Typography } from 'antd';

import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { FinancingApplications } from '../financing/FinancingApplications';
import { MyTasks } from '../MyTasks';
import { WorkflowPanel } from '../workflow/WorkflowPanel';
import { PortalTabs } from '../PortalTabs';
import { VoucherTable } from '../vouchers/VoucherTable';
import { ReceiptsTable } from '../warehouse/ReceiptsTable';

/**
 * Funder: the inbox of financing offered to us (approve = accept and become the holder, on the voucher's
 * page), the portfolio of vouchers we financed, receipts pledged to us (margin calls are in the tasks).
 */
export function FunderPortal() {
  const { t } = useI18n();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  return (
    <PortalTabs
      title={t('nav.funder')}
      tabs={[
        {
          key: 'inbox',
          label: t('funder.inbox'),
          children: (
            <>
              <FinancingApplications label={t('funder.inbox')} filter={{ funder: me, openOnly: true }} />
              <Typography.Title level={4}>{t('funder.directOffers')}</Typography.Title>
              <VoucherTable label={t('funder.directOffers')} base={{ status: 'ACTIVE' }} where={(v) => v.offeredTo === me && !v.financedBy} />
            </>
          ),
        },
        { key: 'tasks', label: t('supplier.tasks'), children: <MyTasks label={t('supplier.tasks')} /> },
        { key: 'workflow', label: t('workflow.tab'), children: <WorkflowPanel /> },
        {
          key: 'history',
          label: t('funder.history'),
          children: <FinancingApplications label={t('funder.history')} filter={{ funder: me, openOnly: false }} />,
        },
        {
          key: 'portfolio',
          label: t('funder.portfolio'),
          children: <VoucherTable label={t('funder.portfolio')} where={(v) => v.financedBy === me} exportName="portfolio" />,
        },
        {
          key: 'pledges',
          label: t('funder.pledges'),
          children: <ReceiptsTable label={t('funder.pledges')} where={(r) => r.pledge?.funder === me} />,
        },
      ]}
    />
  );
}
