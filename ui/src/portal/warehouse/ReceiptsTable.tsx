import { Button, Descriptions, Flex, Table, Tag, type TableColumnsType } from 'antd';
import { useState } from 'react';

import {
  ClearWarehouseReceiptFlagDocument,
  FreezeWarehouseReceiptDocument,
  MyEventsDocument,
  UnfreezeWarehouseReceiptDocument,
  WarehouseReceiptsDocument,
  type ReceiptFieldsFragment,
  type WarehouseReceiptFilter,
} from '../../api/generated';
import { useGql, useQuery, useSubscription } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { FieldsModal } from '../FieldsModal';
import { useTx } from '../useTx';
import { Money } from '../Money';
import { useOrgs } from '../OrgDirectory';
import { QueryView } from '../QueryView';

const STATUS_COLOR: Record<ReceiptFieldsFragment['status'], string> = { ACTIVE: 'green', SPLIT: 'default', WITHDRAWN: 'default' };

/** Warehouse receipts (仓单) the caller may see: goods, bin, holder, pledge, flags; live on chain events. */
export function ReceiptsTable({ label, filter, where }: { label: string; filter?: WarehouseReceiptFilter; where?: (r: ReceiptFieldsFragment) => boolean }) {
  const { t } = useI18n();
  const orgs = useOrgs();
  const query = useQuery(WarehouseReceiptsDocument, { filter: filter ?? null, first: 100 });
  useSubscription(MyEventsDocument, {}, (e) => {
    if (e.myEvents.module === 'warehouse' || e.myEvents.module === 'device' || e.myEvents.module === 'workflow') query.refetch();
  });
  const rows = (query.data?.warehouseReceipts.nodes ?? []).filter((r) => (where ? where(r) : true));
  const gql = useGql();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  const regulator = session?.organisation.roles.includes('regulator') ?? false;
  const canAct = session?.user.role !== 'viewer';
  const { run, busy } = useTx();
  const [dialog, setDialog] = useState<{ action: ReceiptAction; receipt: ReceiptFieldsFragment } | null>(null);
  const actionsFor = (r: ReceiptFieldsFragment): ReceiptAction[] => {
    if (!canAct || r.status !== 'ACTIVE') return [];
    const out: ReceiptAction[] = [];
    if (r.flag && r.operator === me) out.push('clearFlag');
    if (regulator) out.push(r.frozen ? 'unfreeze' : 'freeze');
    return out;
  };
  const label_ = (a: ReceiptAction) => t(`receipt.action.${a}`);
  const columns: TableColumnsType<ReceiptFieldsFragment> = [
    { title: t('receipt.number'), dataIndex: 'number' },
    { title: t('receipt.goods'), key: 'goods', render: (_, r) => `${r.goodsName} · ${r.spec}` },
    { title: t('receipt.quantity'), key: 'qty', align: 'right', render: (_, r) => `${r.quantity.toLocaleString()} ${r.unit}` },
    { title: t('receipt.location'), key: 'loc', render: (_, r) => `${r.location.warehouse} / ${r.location.zone} / ${r.location.bin}`, responsive: ['md'] },
    { title: t('receipt.depositor'), dataIndex: 'depositor', render: (o: string) => orgs.name(o), responsive: ['lg'] },
    { title: t('receipt.holder'), dataIndex: 'holder', render: (o: string) => orgs.name(o), responsive: ['md'] },
    {
      title: t('receipt.pledge'),
      key: 'pledge',
      render: (_, r) =>
        r.pledge ? (
          <span>
            {orgs.name(r.pledge.funder)} · <Money fen={r.pledge.amount} currency={r.pledge.currency} /> · {t('receipt.due', { date: r.pledge.due })}
          </span>
        ) : (
          '—'
        ),
    },
    {
      title: t('receipt.status'),
      key: 'status',
      render: (_, r) => (
        <span>
          <Tag color={STATUS_COLOR[r.status]}>{t(`receipt.status.${r.status}`)}</Tag>
          {r.flag && <Tag color="red">{t('receipt.flagged')}</Tag>}
          {r.frozen && <Tag color="magenta">{t('voucher.frozen')}</Tag>}
        </span>
      ),
    },
    {
      title: t('voucher.actions'),
      key: 'actions',
      render: (_, r) => (
        <Flex gap={4} wrap>
          {actionsFor(r).map((a) => (
            <Button key={a} size="small" danger={a === 'freeze'} aria-label={`${label_(a)} ${r.number}`} onClick={() => setDialog({ action: a, receipt: r })}>
              {label_(a)}
            </Button>
          ))}
        </Flex>
      ),
    },
  ];
  return (
    <>
    <QueryView query={query}>
      {() => (
        <Table<ReceiptFieldsFragment>
          rowKey="number"
          size="middle"
          columns={columns}
          dataSource={rows}
          loading={query.loading}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('state.empty') }}
          aria-label={label}
          expandable={{ expandedRowRender: (r) => <ReceiptDetails receipt={r} /> }}
        />
      )}
    </QueryView>
    {dialog && (
      <FieldsModal
        open
        title={`${label_(dialog.action)} · ${dialog.receipt.number}`}
        busy={busy !== null}
        onCancel={() => setDialog(null)}
        fields={[{ name: 'reason', label: t('form.reason'), kind: 'textarea' }]}
        onSubmit={async (f) => {
          const number = dialog.receipt.number;
          const reason = f.reason!.trim();
          const submit = (): Promise<object> =>
            dialog.action === 'clearFlag'
              ? gql(ClearWarehouseReceiptFlagDocument, { number, reason })
              : dialog.action === 'freeze'
                ? gql(FreezeWarehouseReceiptDocument, { number, reason })
                : gql(UnfreezeWarehouseReceiptDocument, { number, reason });
          if (await run(label_(dialog.action), submit)) {
            setDialog(null);
            query.refetch();
          }
        }}
      />
    )}
    </>
  );
}

type ReceiptAction = 'clearFlag' | 'freeze' | 'unfreeze';

function ReceiptDetails({ receipt: r }: { receipt: ReceiptFieldsFragment }) {
  const { t } = useI18n();
  const orgs = useOrgs();
  return (
    <Descriptions column={{ xs: 1, md: 2 }} size="small">
      <Descriptions.Item label={t('receipt.operator')}>{orgs.name(r.operator)}</Descriptions.Item>
      <Descriptions.Item label={t('receipt.packaging')}>{r.packaging}</Descriptions.Item>
      <Descriptions.Item label={t('receipt.identity')}>{[r.identity.gtin, r.identity.lot].filter(Boolean).join(' · ') || r.identity.kind}</Descriptions.Item>
      <Descriptions.Item label={t('receipt.validUntil')}>{r.validUntil}</Descriptions.Item>
      {r.insurance && (
        <Descriptions.Item label={t('receipt.insurance')}>
          {r.insurance.insurer} · {r.insurance.policyNumber} · <Money fen={r.insurance.insuredAmount} currency={r.insurance.currency} />
        </Descriptions.Item>
      )}
      {r.flag && (
        <Descriptions.Item label={t('receipt.flag')}>
          {r.flag.reason} ({r.flag.source === 'alert' ? t('receipt.flagByAlert', { ref: r.flag.sourceRef }) : orgs.name(r.flag.sourceRef)}, {r.flag.since})
        </Descriptions.Item>
      )}
      {r.frozenReason && <Descriptions.Item label={t('voucher.frozen')}>{r.frozenReason}</Descriptions.Item>}
      {r.endorsements.length > 0 && (
        <Descriptions.Item label={t('receipt.endorsements')}>
          {r.endorsements.map((e) => `${orgs.name(e.from)} → ${orgs.name(e.to)} (${e.date})`).join('；')}
        </Descriptions.Item>
      )}
    </Descriptions>
  );
}
