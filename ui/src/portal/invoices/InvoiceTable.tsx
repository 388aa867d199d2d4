import { DownloadOutlined } from '@ant-design/icons';
import { Button, Descriptions, Drawer, Flex, Table, Tag, type TableColumnsType } from 'antd';
import { useState } from 'react';

import { InvoiceDocument, InvoicesDocument, type InvoiceFieldsFragment } from '../../api/generated';
import { useQuery } from '../../api/hooks';
import { useI18n } from '../../i18n/I18nProvider';
import { downloadCsv } from '../exportCsv';
import { formatFen } from '../../money/fen';
import { Money } from '../Money';
import { QueryView } from '../QueryView';

/** Invoices the caller may see (the server decides: seller, buyer, funder backed by it, tax, regulator). */
export function InvoiceTable({ label, where, exportName }: { label: string; where?: (i: InvoiceFieldsFragment) => boolean; exportName?: string }) {
  const { t } = useI18n();
  const query = useQuery(InvoicesDocument, { first: 100 });
  const [open, setOpen] = useState<string | null>(null);
  const rows = (query.data?.invoices.nodes ?? []).filter((i) => (where ? where(i) : true));
  const columns: TableColumnsType<InvoiceFieldsFragment> = [
    { title: t('invoice.number'), dataIndex: 'number', render: (n: string) => <Button type="link" style={{ padding: 0 }} onClick={() => setOpen(n)}>{n}</Button> },
    { title: t('invoice.issueDate'), dataIndex: 'issueDate' },
    { title: t('invoice.seller'), key: 'seller', render: (_, i) => i.seller.name, responsive: ['md'] },
    { title: t('invoice.buyer'), key: 'buyer', render: (_, i) => i.buyer.name, responsive: ['md'] },
    { title: t('invoice.totalWithTax'), key: 'total', align: 'right', render: (_, i) => <Money fen={i.totalWithTax} currency={i.currency} /> },
    { title: t('invoice.financed'), key: 'financed', align: 'right', render: (_, i) => <Money fen={i.financed} currency={i.currency} />, responsive: ['lg'] },
    {
      title: t('invoice.state'),
      key: 'state',
      render: (_, i) => (
        <span>
          {i.booked ? <Tag color="green">{t('invoice.booked')}</Tag> : <Tag>{t('invoice.notBooked')}</Tag>}
          {i.reversed > 0 && <Tag color="red">{t('invoice.reversed')}</Tag>}
        </span>
      ),
    },
  ];
  return (
    <section aria-label={label}>
      {exportName && (
        <Flex justify="flex-end" style={{ marginBottom: 12 }}>
          <Button
            icon={<DownloadOutlined />}
            onClick={() =>
              downloadCsv(
                exportName,
                ['number', 'issueDate', 'sellerOrg', 'sellerName', 'sellerTaxId', 'buyerOrg', 'buyerName', 'buyerTaxId', 'totalAmountFen', 'totalTaxFen', 'totalWithTaxFen', 'reversedFen', 'financedFen', 'booked'],
                rows.map((i) => [i.number, i.issueDate, i.sellerOrg, i.seller.name, i.seller.taxId, i.buyerOrg ?? '', i.buyer.name, i.buyer.taxId, i.totalAmount, i.totalTax, i.totalWithTax, i.reversed, i.financed, i.booked]),
              )
            }
          >
            {t('action.exportCsv')}
          </Button>
        </Flex>
      )}
      <QueryView query={query}>
        {() => (
          <Table<InvoiceFieldsFragment>
            rowKey="number"
            size="middle"
            columns={columns}
            dataSource={rows}
            loading={query.loading}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: t('state.empty') }}
            aria-label={label}
          />
        )}
      </QueryView>
      <Drawer open={open !== null} onClose={() => setOpen(null)} title={t('invoice.title', { number: open ?? '' })} width={640} destroyOnHidden>
        {open && <InvoiceDetails number={open} />}
      </Drawer>
    </section>
  );
}

function InvoiceDetails({ number }: { number: string }) {
  const { t } = useI18n();
  const query = useQuery(InvoiceDocument, { number });
  return (
    <QueryView query={query}>
      {({ invoice: i }) => (
        <>
          <Descriptions column={1} size="small">
            <Descriptions.Item label={t('invoice.seller')}>{`${i.seller.name}（${i.seller.taxId}）`}</Descriptions.Item>
            <Descriptions.Item label={t('invoice.buyer')}>{`${i.buyer.name}（${i.buyer.taxId}）`}</Descriptions.Item>
            <Descriptions.Item label={t('invoice.issueDate')}>{i.issueDate}</Descriptions.Item>
            <Descriptions.Item label={t('invoice.totalAmount')}>
              <Money fen={i.totalAmount} currency={i.currency} />
            </Descriptions.Item>
            <Descriptions.Item label={t('invoice.totalTax')}>
              <Money fen={i.totalTax} currency={i.currency} />
            </Descriptions.Item>
            <Descriptions.Item label={t('invoice.totalWithTax')}>
              <Money fen={i.totalWithTax} currency={i.currency} />
            </Descriptions.Item>
          </Descriptions>
          <Table
            rowKey={(_, idx) => String(idx)}
            size="small"
            pagination={false}
            dataSource={i.lines}
            aria-label={t('invoice.lines')}
            columns={[
              { title: t('invoice.item'), dataIndex: 'itemName' },
              { title: t('invoice.spec'), dataIndex: 'spec' },
              { title: t('invoice.quantity'), dataIndex: 'quantity' },
              { title: t('invoice.amount'), dataIndex: 'amount', align: 'right', render: (a: number) => <Money fen={a} /> },
              { title: t('invoice.taxRate'), dataIndex: 'taxRateBp', render: (bp: number) => `${formatFen(bp, { grouping: false })}%` },
            ]}
          />
        </>
      )}
    </QueryView>
  );
}
