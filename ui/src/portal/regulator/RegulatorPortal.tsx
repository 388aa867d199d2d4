import { useI18n } from '../../i18n/I18nProvider';
import { RecallForm } from '../../epcis/RecallForm';
import { AuditTrail } from '../AuditTrail';
import { FinancingApplications } from '../financing/FinancingApplications';
import { WorkflowAuditTable } from '../WorkflowAuditTable';
import { InvoiceTable } from '../invoices/InvoiceTable';
import { AuditExport } from './AuditExport';
import { ReceiptsTable } from '../warehouse/ReceiptsTable';
import { PortalTabs } from '../PortalTabs';
import { VoucherTable } from '../vouchers/VoucherTable';

/**
 * Regulator: every voucher (freeze / unfreeze on its page), every invoice, the live audit trail, CSV
 * exports of each. The other portals are open to the regulator too (navigation).
 */
export function RegulatorPortal() {
  const { t } = useI18n();
  return (
    <PortalTabs
      title={t('nav.regulator')}
      tabs={[
        { key: 'vouchers', label: t('regulator.vouchers'), children: <VoucherTable label={t('regulator.vouchers')} exportName="vouchers" /> },
        { key: 'frozen', label: t('regulator.frozen'), children: <VoucherTable label={t('regulator.frozen')} where={(v) => v.frozen} exportName="vouchers-frozen" /> },
        { key: 'invoices', label: t('regulator.invoices'), children: <InvoiceTable label={t('regulator.invoices')} exportName="invoices" /> },
        { key: 'receipts', label: t('regulator.receipts'), children: <ReceiptsTable label={t('regulator.receipts')} /> },
        { key: 'audit', label: t('audit.title'), children: <AuditTrail /> },
        { key: 'export', label: t('auditExport.title'), children: <AuditExport /> },
        { key: 'workflow', label: t('audit.workflow'), children: <WorkflowAuditTable /> },
        // The regulator may recall any lot (the brand owner recalls its own from the EPCIS page).
        { key: 'recall', label: t('recall.title'), children: <RecallForm /> },
        {
          key: 'financing',
          label: t('regulator.financing'),
          children: <FinancingApplications label={t('regulator.financing')} filter={{ openOnly: false }} />,
        },
      ]}
    />
  );
}
