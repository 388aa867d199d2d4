import { Card, Flex, Typography } from 'antd';

import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { FinancingApplications } from '../financing/FinancingApplications';
import { InvoiceTable } from '../invoices/InvoiceTable';
import { MyTasks } from '../MyTasks';
import { PortalTabs } from '../PortalTabs';
import { VoucherTable } from '../vouchers/VoucherTable';
import { IssueInvoiceForm } from '../invoices/IssueInvoiceForm';
import { UblUpload } from '../invoices/UblUpload';
import { ReceiptsTable } from '../warehouse/ReceiptsTable';
import { WorkflowPanel } from '../workflow/WorkflowPanel';

/**
 * Supplier: my vouchers (filters, detail with lineage, sign-for / reject, split & transfer, financing),
 * my invoices, and my tasks — vouchers awaiting my signature and my financing offers awaiting a funder.
 */
export function SupplierPortal() {
  const { t } = useI18n();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  return (
    <PortalTabs
      title={t('nav.supplier')}
      tabs={[
        { key: 'vouchers', label: t('supplier.vouchers'), children: <VoucherTable label={t('supplier.vouchers')} base={{ holder: me }} /> },
        {
          key: 'tasks',
          label: t('supplier.tasks'),
          children: (
            <>
              <Typography.Title level={4}>{t('tasks.workflow')}</Typography.Title>
              <MyTasks label={t('tasks.workflow')} />
              <Typography.Title level={4}>{t('tasks.signFor')}</Typography.Title>
              <VoucherTable label={t('tasks.signFor')} base={{ holder: me, status: 'PENDING' }} />
              <Typography.Title level={4}>{t('tasks.offers')}</Typography.Title>
              <VoucherTable label={t('tasks.offers')} base={{ holder: me, status: 'ACTIVE' }} where={(v) => !!v.offeredTo && !v.financedBy} />
            </>
          ),
        },
        {
          key: 'financing',
          label: t('supplier.financing'),
          children: <FinancingApplications label={t('supplier.financing')} filter={{ supplier: me, openOnly: false }} />,
        },
        { key: 'invoices', label: t('supplier.invoices'), children: <InvoiceTable label={t('supplier.invoices')} where={(i) => i.sellerOrg === me} /> },
        {
          key: 'issueInvoice',
          label: t('invoiceForm.title'),
          children: (
            <Flex vertical gap={16}>
              <Card size="small" title={t('invoiceForm.title')}>
                <IssueInvoiceForm />
              </Card>
              <Card size="small" title={t('ubl.title')}>
                <UblUpload />
              </Card>
            </Flex>
          ),
        },
        { key: 'receipts', label: t('supplier.receipts'), children: <ReceiptsTable label={t('supplier.receipts')} filter={{ holder: me }} /> },
        { key: 'workflow', label: t('workflow.tab'), children: <WorkflowPanel /> },
        { key: 'all', label: t('supplier.allVisible'), children: <VoucherTable label={t('supplier.allVisible')} /> },
      ]}
    />
  );
}
