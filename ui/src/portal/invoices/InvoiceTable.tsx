import { DownloadOutlined } from '@ant-design/icons';
import { Alert, Button, Descriptions, Drawer, Flex, Table, Tag, type TableColumnsType } from 'antd';
import { useState } from 'react';

import {
  BookInvoiceDocument,
  InvoiceDocument,
  InvoicesDocument,
  MyEventsDocument,
  ReverseInvoiceDocument,
  type InvoiceFieldsFragment,
} from '../../api/generated';
import { useGql, useQuery, useSubscription } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { ActionModal, type FieldSpec } from '../actions/ActionForm';
import { downloadCsv } from '../exportCsv';
import { formatFen, parseYuan } from '../../money/fen';
import { Money } from '../Money';
import { QueryView } from '../QueryView';

/** Invoices the caller may see (the server decides: seller, buyer, funder backed by it, tax, regulator). */
export function InvoiceTable({ label, where, exportName }: { label: string; where?: (i: InvoiceFieldsFragment) => boolean; exportName?: string }) {
  const { t } = useI18n();
  const query = useQuery(InvoicesDocument, { first: 100 });
  const [open, setOpen] = useState<string | null>(null);
  const [dialog, setDialog] = useState<{ action: 'book' | 'reverse'; invoice: InvoiceFieldsFragment } | null>(null);
  const gql = useGql();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  const canAct = session !== null && session.user.role !== 'viewer';
  useSubscription(MyEventsDocument, {}, (e) => {
    if (e.myEvents.module === 'invoice') query.refetch();
  });
  const rows = (query.data?.invoices.nodes ?? []).filter((i) => (where ? where(i) : true));
  /** Unreversed amount: what a red-letter invoice may still reverse. */
  const remaining = (i: InvoiceFieldsFragment) => i.totalWithTax - i.reversed;
  const actionsFor = (i: InvoiceFieldsFragment): ('book' | 'reverse')[] => {
    if (!canAct) return [];
    const out: ('book' | 'reverse')[] = [];
    if (i.buyerOrg === me && !i.booked && remaining(i) > 0) out.push('book');
    if (i.sellerOrg === me && remaining(i) > i.financed) out.push('reverse');
    return out;
  };
  const dialogFields = (d: NonNullable<typeof dialog>): FieldSpec[] =>
    d.action === 'book'
      ? [{ name: 'bookingRef', label: t('invoice.bookingRef'), placeholder: '记-2026-12-0001' }]
      : [
          { name: 'redNumber', label: t('invoice.redNumber'), kind: 'invoiceNo', check: (v) => (v === d.invoice.number ? t('invoice.redSame') : null) },
          {
            name: 'amount',
            label: t('invoice.reverseAmount'),
            kind: 'yuan',
            initial: formatFen(remaining(d.invoice) - d.invoice.financed, { grouping: false }),
            help: t('invoice.reverseHelp', { remaining: formatFen(remaining(d.invoice)), financed: formatFen(d.invoice.financed) }),
            check: (v) => {
              const fen = parseYuan(v);
              return fen !== null && fen > BigInt(remaining(d.invoice) - d.invoice.financed)
                ? t('invoice.reverseTooMuch', { max: formatFen(remaining(d.invoice) - d.invoice.financed) })
                : null;
            },
          },
          { name: 'reason', label: t('form.reason'), kind: 'textarea' },
        ];
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
          {i.reversed > 0 && (
            <Tag color="red">{i.reversed >= i.totalWithTax ? t('invoice.reversedFull') : t('invoice.reversedPart', { amount: formatFen(i.reversed) })}</Tag>
          )}
        </span>
      ),
    },
    {
      title: t('voucher.actions'),
      key: 'actions',
      render: (_, i) => (
        <Flex gap={4} wrap>
          {actionsFor(i).map((a) => (
            <Button key={a} size="small" danger={a === 'reverse'} aria-label={`${t(`invoice.action.${a}`)} ${i.number}`} onClick={() => setDialog({ action: a, invoice: i })}>
              {t(`invoice.action.${a}`)}
            </Button>
          ))}
        </Flex>
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
      {dialog && (
        <ActionModal
          title={`${t(`invoice.action.${dialog.action}`)} · ${dialog.invoice.number}`}
          danger={dialog.action === 'reverse'}
          fields={dialogFields(dialog)}
          onClose={() => setDialog(null)}
          onDone={() => query.refetch()}
          submit={(v) =>
            dialog.action === 'book'
              ? gql(BookInvoiceDocument, { number: dialog.invoice.number, bookingRef: String(v.bookingRef) })
              : gql(ReverseInvoiceDocument, {
                  number: dialog.invoice.number,
                  redNumber: String(v.redNumber),
                  amountWithTax: Number(v.amount),
                  reason: String(v.reason),
                })
          }
        />
      )}
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
          {i.lines === null && <Alert type="info" showIcon message={t('invoice.linesSealed')} />}
          <Table
            rowKey={(_, idx) => String(idx)}
            size="small"
            pagination={false}
            dataSource={i.lines ?? []}
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
