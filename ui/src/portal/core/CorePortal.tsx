import dayjs from 'dayjs';

import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { InvoiceTable } from '../invoices/InvoiceTable';
import { MyTasks } from '../MyTasks';
import { PortalTabs } from '../PortalTabs';
import { todayCst } from '../vouchers/actions';
import { VoucherTable } from '../vouchers/VoucherTable';
import { IssueVoucherForm } from './IssueVoucherForm';
import { OutstandingByTier } from './OutstandingByTier';

/**
 * Core enterprise: issue vouchers against invoices, maturities in the next 90 days, settlement (record
 * payment on a root voucher's page once due), outstanding amounts by supplier tier.
 */
export function CorePortal() {
  const { t } = useI18n();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  const today = todayCst();
  const in90 = dayjs(today).add(90, 'day').format('YYYY-MM-DD');
  return (
    <PortalTabs
      title={t('nav.core_enterprise')}
      tabs={[
        {
          key: 'maturities',
          label: t('core.maturities'),
          children: <VoucherTable label={t('core.maturities')} base={{ dueTo: in90 }} where={(v) => v.issuer === me && v.depth === 0 && v.status !== 'SETTLED' && v.status !== 'REJECTED'} />,
        },
        { key: 'issued', label: t('core.issued'), children: <VoucherTable label={t('core.issued')} where={(v) => v.issuer === me && v.depth === 0} exportName="vouchers-issued" /> },
        { key: 'issue', label: t('core.issue'), children: <IssueVoucherForm /> },
        { key: 'tiers', label: t('core.outstanding'), children: <OutstandingByTier issuer={me} /> },
        { key: 'invoices', label: t('core.invoicesTab'), children: <InvoiceTable label={t('core.invoicesTab')} where={(i) => i.buyerOrg === me || i.sellerOrg === me} /> },
        { key: 'tasks', label: t('supplier.tasks'), children: <MyTasks label={t('supplier.tasks')} /> },
      ]}
    />
  );
}
