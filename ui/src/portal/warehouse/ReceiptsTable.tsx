import { Button, Descriptions, Flex, Table, Tag, type TableColumnsType } from 'antd';
import { useState } from 'react';

import {
  ApplyForPledgeDocument,
  ClearWarehouseReceiptFlagDocument,
  EndorseWarehouseReceiptDocument,
  FlagWarehouseReceiptDocument,
  FreezeWarehouseReceiptDocument,
  MyEventsDocument,
  PledgeWarehouseReceiptDocument,
  ReleaseWarehouseReceiptDocument,
  UnfreezeWarehouseReceiptDocument,
  WarehouseReceiptsDocument,
  WithdrawWarehouseReceiptDocument,
  type ReceiptFieldsFragment,
  type WarehouseReceiptFilter,
} from '../../api/generated';
import { useGql, useQuery, useSubscription } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { ActionModal, type FieldSpec, type Values } from '../actions/ActionForm';
import { todayCst } from '../vouchers/actions';
import { ReceiptSplitModal } from './receiptForms';
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
  const [dialog, setDialog] = useState<{ action: ReceiptAction; receipt: ReceiptFieldsFragment } | null>(null);
  const actionsFor = (r: ReceiptFieldsFragment): ReceiptAction[] => {
    if (!canAct || r.status !== 'ACTIVE') return [];
    const out: ReceiptAction[] = [];
    const free = !r.frozen && !r.pledge;
    if (r.holder === me && free) out.push('endorse', 'split', 'withdraw');
    if (r.holder === me && free && !r.flag) out.push('applyPledge', 'pledge');
    if (r.pledge?.funder === me && !r.frozen) out.push('release');
    if (r.operator === me) out.push(r.flag ? 'clearFlag' : 'flag');
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
            {orgs.name(r.pledge.funder)} · {r.pledge.amount !== null ? <Money fen={r.pledge.amount} currency={r.pledge.currency ?? 'CNY'} /> : t('terms.sealedHidden')} · {t('receipt.due', { date: r.pledge.due })}
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
            <Button key={a} size="small" danger={a === 'freeze' || a === 'withdraw' || a === 'flag'} aria-label={`${label_(a)} ${r.number}`} onClick={() => setDialog({ action: a, receipt: r })}>
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
    {dialog && dialog.action === 'split' && (
      <ReceiptSplitModal receipt={dialog.receipt} onClose={() => setDialog(null)} onDone={() => query.refetch()} />
    )}
    {dialog && dialog.action !== 'split' && (
      <ActionModal
        title={`${label_(dialog.action)} · ${dialog.receipt.number}`}
        danger={dialog.action === 'freeze' || dialog.action === 'withdraw' || dialog.action === 'flag'}
        fields={receiptActionFields(dialog.action as Exclude<ReceiptAction, 'split'>, dialog.receipt, t)}
        onClose={() => setDialog(null)}
        onDone={() => query.refetch()}
        submit={(v) => submitReceiptAction(gql, dialog.action as Exclude<ReceiptAction, 'split'>, dialog.receipt.number, v)}
      />
    )}
    </>
  );
}

type ReceiptAction = 'endorse' | 'split' | 'withdraw' | 'applyPledge' | 'pledge' | 'release' | 'flag' | 'clearFlag' | 'freeze' | 'unfreeze';

const approvedFunder = (o: { approvedFunder: boolean; roles: string[] }) => o.approvedFunder && o.roles.includes('funder');

function receiptActionFields(a: Exclude<ReceiptAction, 'split'>, r: ReceiptFieldsFragment, t: ReturnType<typeof useI18n>['t']): FieldSpec[] {
  const today = todayCst();
  switch (a) {
    case 'endorse':
      return [
        { name: 'to', label: t('receiptForm.endorseTo'), kind: 'org', orgFilter: (o) => o.id !== r.holder },
        { name: 'note', label: t('receiptForm.note'), optional: true },
      ];
    case 'withdraw':
    case 'release':
      return [];
    case 'applyPledge':
      return [
        { name: 'applicationId', label: t('pledge.applicationId'), kind: 'upperId', initial: `PL-${r.number.toUpperCase().replace(/[^A-Z0-9_-]/g, '-')}`.slice(0, 40) },
        { name: 'funder', label: t('financing.funder'), kind: 'org', orgFilter: approvedFunder },
        { name: 'amount', label: t('pledge.requestedAmount'), kind: 'yuan' },
      ];
    case 'pledge':
      return [
        { name: 'funder', label: t('financing.funder'), kind: 'org', orgFilter: approvedFunder },
        { name: 'amount', label: t('pledge.loanAmount'), kind: 'yuan' },
        { name: 'due', label: t('pledge.due'), kind: 'date', check: (v) => (v < today ? t('valid.notPast', { today }) : null) },
      ];
    default:
      return [{ name: 'reason', label: t('form.reason'), kind: 'textarea' }];
  }
}

function submitReceiptAction(gql: ReturnType<typeof useGql>, a: Exclude<ReceiptAction, 'split'>, number: string, v: Values): Promise<object> {
  const s = (k: string) => String(v[k] ?? '');
  switch (a) {
    case 'endorse':
      return gql(EndorseWarehouseReceiptDocument, { number, to: s('to'), note: s('note') });
    case 'withdraw':
      return gql(WithdrawWarehouseReceiptDocument, { number });
    case 'release':
      return gql(ReleaseWarehouseReceiptDocument, { number });
    case 'applyPledge':
      return gql(ApplyForPledgeDocument, { input: { applicationId: s('applicationId'), receipt: number, funder: s('funder'), requestedAmount: Number(v.amount), currency: 'CNY', documents: [] } });
    case 'pledge':
      return gql(PledgeWarehouseReceiptDocument, { number, funder: s('funder'), amount: Number(v.amount), due: s('due') });
    case 'flag':
      return gql(FlagWarehouseReceiptDocument, { number, reason: s('reason') });
    case 'clearFlag':
      return gql(ClearWarehouseReceiptFlagDocument, { number, reason: s('reason') });
    case 'freeze':
      return gql(FreezeWarehouseReceiptDocument, { number, reason: s('reason') });
    case 'unfreeze':
      return gql(UnfreezeWarehouseReceiptDocument, { number, reason: s('reason') });
  }
}

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
