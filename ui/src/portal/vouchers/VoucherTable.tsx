import { DownloadOutlined, ReloadOutlined } from '@ant-design/icons';
import { Button, DatePicker, Flex, Input, Select, Table, type TableColumnsType } from 'antd';
import type { Dayjs } from 'dayjs';
import { useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router-dom';

import { MyEventsDocument, VouchersDocument, type VoucherFieldsFragment, type VoucherFilter, type VoucherStatus } from '../../api/generated';
import { useGql, useQuery, useSubscription } from '../../api/hooks';
import { useI18n } from '../../i18n/I18nProvider';
import { Money } from '../Money';
import { useOrgs } from '../OrgDirectory';
import { QueryView } from '../QueryView';
import { downloadCsv } from '../exportCsv';
import { VoucherStatusTag } from './VoucherStatusTag';

const STATUSES: VoucherStatus[] = ['PENDING', 'ACTIVE', 'SPLIT', 'SETTLED', 'REJECTED'];

export interface VoucherTableProps {
  /** Fixed server-side filter (e.g. holder = my organisation). */
  base?: VoucherFilter;
  /** Client-side narrowing for views the server filter cannot express (offered to me, financed by me). */
  where?: (v: VoucherFieldsFragment) => boolean;
  /** Accessible name of the table. */
  label: string;
  exportName?: string;
  pageSize?: number;
}

/** Vouchers with status / due-date / id filters, live-refreshed on the organisation's chain events. */
export function VoucherTable({ base, where, label, exportName, pageSize = 100 }: VoucherTableProps) {
  const { t } = useI18n();
  const orgs = useOrgs();
  const [status, setStatus] = useState<VoucherStatus | undefined>();
  const [due, setDue] = useState<[Dayjs | null, Dayjs | null] | null>(null);
  const [search, setSearch] = useState('');
  const filter: VoucherFilter = {
    ...base,
    ...(status ? { status } : {}),
    ...(due?.[0] ? { dueFrom: due[0].format('YYYY-MM-DD') } : {}),
    ...(due?.[1] ? { dueTo: due[1].format('YYYY-MM-DD') } : {}),
  };
  const query = useQuery(VouchersDocument, { filter, first: pageSize });
  const gql = useGql();
  // Pages after the first (the API serves at most 100 per page); reset whenever the first page reloads.
  const [more, setMore] = useState<{ rows: VoucherFieldsFragment[]; endCursor: string | null; hasNextPage: boolean } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  useEffect(() => setMore(null), [query.data]);
  const pageInfo = more ?? query.data?.vouchers.pageInfo;
  const loadMore = () => {
    if (!pageInfo?.endCursor) return;
    setLoadingMore(true);
    gql(VouchersDocument, { filter, first: pageSize, after: pageInfo.endCursor })
      .then((d) =>
        setMore((m) => ({ rows: [...(m?.rows ?? []), ...d.vouchers.nodes], endCursor: d.vouchers.pageInfo.endCursor, hasNextPage: d.vouchers.pageInfo.hasNextPage })),
      )
      .catch(() => {})
      .finally(() => setLoadingMore(false));
  };
  useSubscription(MyEventsDocument, {}, (e) => {
    if (e.myEvents.module === 'voucher') query.refetch();
  });
  const columns: TableColumnsType<VoucherFieldsFragment> = useMemo(
    () => [
      {
        title: t('voucher.id'),
        dataIndex: 'id',
        render: (id: string) => <Link to={`/vouchers/${encodeURIComponent(id)}`}>{id}</Link>,
        sorter: (a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }),
      },
      {
        title: t('voucher.amount'),
        dataIndex: 'amount',
        align: 'right',
        render: (_: number, v) => <Money fen={v.amount} currency={v.currency} />,
        sorter: (a, b) => a.amount - b.amount,
      },
      { title: t('voucher.issuer'), dataIndex: 'issuer', render: (id: string) => orgs.name(id), responsive: ['lg'] },
      { title: t('voucher.holder'), dataIndex: 'holder', render: (id: string) => orgs.name(id), responsive: ['md'] },
      { title: t('voucher.tier'), dataIndex: 'depth', render: (d: number) => t('voucher.tierN', { n: d + 1 }), responsive: ['lg'] },
      { title: t('voucher.dueDate'), dataIndex: 'dueDate', sorter: (a, b) => a.dueDate.localeCompare(b.dueDate) },
      { title: t('voucher.status'), key: 'status', render: (_: unknown, v) => <VoucherStatusTag voucher={v} /> },
    ],
    [t, orgs],
  );
  const rows = [...(query.data?.vouchers.nodes ?? []), ...(more?.rows ?? [])].filter((v) => (where ? where(v) : true)).filter((v) => v.id.toLowerCase().includes(search.trim().toLowerCase()));
  return (
    <section aria-label={label}>
      <Flex wrap gap={8} style={{ marginBottom: 12 }} role="search" aria-label={t('filter.label')}>
        <Input.Search
          allowClear
          placeholder={t('voucher.search')}
          aria-label={t('voucher.search')}
          style={{ width: 220 }}
          onChange={(e) => setSearch(e.target.value)}
        />
        <Select<VoucherStatus>
          allowClear
          placeholder={t('voucher.status')}
          aria-label={t('voucher.status')}
          style={{ width: 140 }}
          value={status}
          onChange={setStatus}
          options={STATUSES.map((s) => ({ value: s, label: t(`voucher.status.${s}`) }))}
        />
        <DatePicker.RangePicker
          aria-label={t('voucher.dueRange')}
          placeholder={[t('voucher.dueFrom'), t('voucher.dueTo')]}
          value={due}
          onChange={(v) => setDue(v)}
        />
        <Button icon={<ReloadOutlined />} onClick={query.refetch} aria-label={t('action.refresh')} />
        {exportName && (
          <Button
            icon={<DownloadOutlined />}
            onClick={() =>
              downloadCsv(
                exportName,
                ['id', 'rootId', 'parentId', 'depth', 'issuer', 'holder', 'amountFen', 'currency', 'issueDate', 'dueDate', 'status', 'frozen', 'offeredTo', 'financedBy', 'contractRef', 'invoices'],
                rows.map((v) => [v.id, v.rootId, v.parentId ?? '', v.depth, v.issuer, v.holder, v.amount, v.currency, v.issueDate, v.dueDate, v.status, v.frozen, v.offeredTo ?? '', v.financedBy ?? '', v.contractRef, v.invoices.join(' ')]),
              )
            }
          >
            {t('action.exportCsv')}
          </Button>
        )}
      </Flex>
      <QueryView query={query}>
        {() => (
          <Table<VoucherFieldsFragment>
            rowKey="id"
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
      {pageInfo?.hasNextPage && (
        <Button onClick={loadMore} loading={loadingMore} style={{ marginTop: 8 }}>
          {t('action.loadMore')}
        </Button>
      )}
    </section>
  );
}
