import { ApartmentOutlined } from '@ant-design/icons';
import { Button, Card, Descriptions, Flex, Modal, Space, Tree, Typography, type TreeDataNode } from 'antd';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';

import {
  AcceptFinancingDocument,
  CancelFinancingOfferDocument,
  FreezeVoucherDocument,
  MarkOverdueDocument,
  EscalateOverdueDocument,
  MyEventsDocument,
  ApplyForFinancingDocument,
  RecordPaymentDocument,
  RejectVoucherDocument,
  SignForVoucherDocument,
  SplitVoucherDocument,
  TransferVoucherDocument,
  UnfreezeVoucherDocument,
  WorkflowAuditDocument,
  VoucherDocument,
  type VoucherFieldsFragment,
} from '../../api/generated';
import { useGql, useQuery, useSubscription } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { formatMoney, parseYuan, toApiFen } from '../../money/fen';
import { Money } from '../Money';
import { useOrgs } from '../OrgDirectory';
import { FieldsModal } from '../FieldsModal';
import { QueryView } from '../QueryView';
import { DocumentsPicker, type PickedDocument } from '../actions/DocumentsPicker';
import { useTx } from '../useTx';
import { todayCst, voucherActions, type VoucherAction } from './actions';
import { lineageTree, type LineageNode } from './lineage';
import { SplitForm } from './SplitForm';
import { VoucherStatusTag } from './VoucherStatusTag';

/** A new financing application id (A-Z 0-9 - _): the voucher's id and a time stamp. */
export function applicationId(voucherId: string, now = Date.now()): string {
  return `FA-${voucherId.replace(/[^A-Z0-9_-]/gi, '-').toUpperCase()}-${now.toString(36).toUpperCase()}`;
}

/** One voucher: facts, the lineage tree, and what the signed-in organisation may do with it. */
export function VoucherPage() {
  const { id = '' } = useParams();
  const { t } = useI18n();
  const query = useQuery(VoucherDocument, { id });
  useSubscription(MyEventsDocument, {}, (e) => {
    if (e.myEvents.module === 'voucher') query.refetch();
  });
  return (
    <section aria-labelledby="voucher-title">
      <Typography.Title id="voucher-title" level={2}>
        {t('voucher.title', { id })}
      </Typography.Title>
      <QueryView query={query}>{(d) => <VoucherDetails voucher={d.voucher} lineage={d.voucher.lineage} onChanged={query.refetch} />}</QueryView>
    </section>
  );
}

type Dialog = Exclude<VoucherAction, 'signFor' | 'acceptFinancing' | 'markOverdue' | 'escalateOverdue'> | null;

function VoucherDetails({ voucher: v, lineage, onChanged }: { voucher: VoucherFieldsFragment; lineage: VoucherFieldsFragment[]; onChanged: () => void }) {
  const { t } = useI18n();
  const orgs = useOrgs();
  const { session } = useSession();
  const gql = useGql();
  const { run, busy } = useTx();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [docs, setDocs] = useState<PickedDocument[]>([]);
  const org = session?.organisation.id ?? '';
  const offered = voucherActions(v, org, session?.organisation.roles ?? [], todayCst());
  // A tree is escalated once: the workflow audit says whether it already was (e.g. by the timer service).
  const audit = useQuery(WorkflowAuditDocument, { instanceId: null, subject: v.rootId }, { skip: !offered.includes('escalateOverdue') });
  const escalated = audit.data?.workflowAudit.some((e) => e.action === 'EscalateOverdue') ?? true;
  const actions = offered.filter((a) => a !== 'escalateOverdue' || !escalated);
  const submit = async <R extends object>(label: string, f: () => Promise<R>) => {
    const r = await run(label, f);
    if (r) {
      setDialog(null);
      onChanged();
      audit.refetch();
    }
  };
  const label = (a: VoucherAction) => t(`voucher.action.${a}`);

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Card>
        <Descriptions column={{ xs: 1, sm: 2, lg: 3 }} size="small">
          <Descriptions.Item label={t('voucher.amount')}>
            <Money fen={v.amount} currency={v.currency} />
          </Descriptions.Item>
          <Descriptions.Item label={t('voucher.status')}>
            <VoucherStatusTag voucher={v} />
          </Descriptions.Item>
          <Descriptions.Item label={t('voucher.tier')}>{t('voucher.tierN', { n: v.depth + 1 })}</Descriptions.Item>
          <Descriptions.Item label={t('voucher.issuer')}>{orgs.name(v.issuer)}</Descriptions.Item>
          <Descriptions.Item label={t('voucher.holder')}>{orgs.name(v.holder)}</Descriptions.Item>
          {v.pendingFrom && <Descriptions.Item label={t('voucher.pendingFrom')}>{orgs.name(v.pendingFrom)}</Descriptions.Item>}
          <Descriptions.Item label={t('voucher.issueDate')}>{v.issueDate}</Descriptions.Item>
          <Descriptions.Item label={t('voucher.dueDate')}>{v.dueDate}</Descriptions.Item>
          <Descriptions.Item label={t('voucher.contractRef')}>{v.contractRef}</Descriptions.Item>
          <Descriptions.Item label={t('voucher.invoices')}>{v.invoices.join('、') || '—'}</Descriptions.Item>
          {v.offeredTo && <Descriptions.Item label={t('voucher.offeredTo')}>{orgs.name(v.offeredTo)}</Descriptions.Item>}
          {v.financedBy && <Descriptions.Item label={t('voucher.financedBy')}>{orgs.name(v.financedBy)}</Descriptions.Item>}
          <Descriptions.Item label={t('voucher.updatedHeight')}>
            <Link to={`/explorer/blocks/${v.updatedHeight}`}>#{v.updatedHeight}</Link>
          </Descriptions.Item>
        </Descriptions>
        {actions.length > 0 && (
          <Flex wrap gap={8} style={{ marginTop: 12 }} role="toolbar" aria-label={t('voucher.actions')}>
            {actions.map((a) => {
              const primary = a === 'signFor' || a === 'acceptFinancing' || a === 'split';
              const onClick = () => {
                if (a === 'signFor') void submit(label(a), () => gql(SignForVoucherDocument, { voucherId: v.id }));
                else if (a === 'acceptFinancing') void submit(label(a), () => gql(AcceptFinancingDocument, { voucherId: v.id }));
                else if (a === 'markOverdue') void submit(label(a), () => gql(MarkOverdueDocument, { rootId: v.rootId }));
                else if (a === 'escalateOverdue') void submit(label(a), () => gql(EscalateOverdueDocument, { rootId: v.rootId }));
                else setDialog(a);
              };
              return (
                <Button key={a} type={primary ? 'primary' : 'default'} danger={a === 'reject' || a === 'freeze'} loading={busy === label(a)} onClick={onClick}>
                  {label(a)}
                </Button>
              );
            })}
          </Flex>
        )}
      </Card>
      <Card
        title={
          <span>
            <ApartmentOutlined /> {t('voucher.lineage')}
          </span>
        }
      >
        <LineageTree lineage={lineage} current={v.id} />
      </Card>

      <Modal open={dialog === 'split'} title={t('split.title')} footer={null} onCancel={() => setDialog(null)} destroyOnHidden width={720}>
        <Typography.Paragraph>{t('split.total', { total: formatMoney(v.amount, v.currency) })}</Typography.Paragraph>
        <SplitForm
          voucher={v}
          self={org}
          busy={busy === label('split')}
          onSubmit={(parts) =>
            void submit(label('split'), () =>
              gql(SplitVoucherDocument, { voucherId: v.id, parts: parts.map((p) => ({ to: p.to, amount: toApiFen(p.amount) })) }),
            )
          }
        />
      </Modal>
      <FieldsModal
        open={dialog === 'transfer'}
        title={label('transfer')}
        busy={busy === label('transfer')}
        onCancel={() => setDialog(null)}
        fields={[{ name: 'to', label: t('voucher.transferTo'), kind: 'org', filter: (o) => o.id !== org && o.roles.includes('supplier') }]}
        onSubmit={(f) => submit(label('transfer'), () => gql(TransferVoucherDocument, { voucherId: v.id, to: f.to! }))}
      />
      <FieldsModal
        open={dialog === 'reject'}
        title={label('reject')}
        busy={busy === label('reject')}
        onCancel={() => setDialog(null)}
        fields={[{ name: 'reason', label: t('form.reason') }]}
        onSubmit={(f) => submit(label('reject'), () => gql(RejectVoucherDocument, { voucherId: v.id, reason: f.reason! }))}
      />
      <FieldsModal
        open={dialog === 'offerFinancing'}
        title={label('offerFinancing')}
        busy={busy === label('offerFinancing')}
        onCancel={() => setDialog(null)}
        fields={[
          { name: 'funder', label: t('financing.funder'), kind: 'org', filter: (o) => o.approvedFunder },
          { name: 'rate', label: t('financing.maxRatePercent'), kind: 'percent' },
        ]}
        extra={<DocumentsPicker value={docs} onChange={setDocs} />}
        onSubmit={(f) =>
          submit(label('offerFinancing'), () =>
            gql(ApplyForFinancingDocument, {
              input: {
                applicationId: applicationId(v.id),
                voucherId: v.id,
                funder: f.funder!,
                requestedRateBp: Number(parseYuan(f.rate!)),
                documents: docs,
              },
            }),
          )
        }
      />
      <FieldsModal
        open={dialog === 'cancelOffer'}
        title={label('cancelOffer')}
        busy={busy === label('cancelOffer')}
        onCancel={() => setDialog(null)}
        fields={[{ name: 'reason', label: t('form.reason') }]}
        onSubmit={(f) => submit(label('cancelOffer'), () => gql(CancelFinancingOfferDocument, { voucherId: v.id, reason: f.reason! }))}
      />
      <FieldsModal
        open={dialog === 'recordPayment'}
        title={label('recordPayment')}
        busy={busy === label('recordPayment')}
        onCancel={() => setDialog(null)}
        fields={[{ name: 'paymentRef', label: t('settlement.paymentRef') }]}
        onSubmit={(f) => submit(label('recordPayment'), () => gql(RecordPaymentDocument, { rootId: v.rootId, paymentRef: f.paymentRef! }))}
      />
      <FieldsModal
        open={dialog === 'freeze' || dialog === 'unfreeze'}
        title={label(dialog === 'unfreeze' ? 'unfreeze' : 'freeze')}
        busy={busy === label('freeze') || busy === label('unfreeze')}
        onCancel={() => setDialog(null)}
        fields={[{ name: 'reason', label: t('form.reason') }]}
        onSubmit={(f) =>
          dialog === 'unfreeze'
            ? submit(label('unfreeze'), () => gql(UnfreezeVoucherDocument, { voucherId: v.id, reason: f.reason! }))
            : submit(label('freeze'), () => gql(FreezeVoucherDocument, { voucherId: v.id, reason: f.reason! }))
        }
      />
    </Space>
  );
}

/** The lineage drawn as a tree: each node shows id, amount, holder and status; the current one is selected. */
export function LineageTree({ lineage, current }: { lineage: VoucherFieldsFragment[]; current: string }) {
  const orgs = useOrgs();
  const navigate = useNavigate();
  const toData = (n: LineageNode): TreeDataNode => ({
    key: n.voucher.id,
    title: (
      <span>
        <Typography.Text strong={n.voucher.id === current}>{n.voucher.id}</Typography.Text> · <Money fen={n.voucher.amount} currency={n.voucher.currency} /> ·{' '}
        {orgs.name(n.voucher.holder)} <VoucherStatusTag voucher={n.voucher} />
      </span>
    ),
    children: n.children.map(toData),
  });
  const data = lineageTree(lineage).map(toData);
  return (
    <Tree
      // Remount when the tree changes (a split adds children): defaultExpandAll applies on mount only.
      key={lineage.map((v) => `${v.id}:${v.status}`).join(',')}
      treeData={data}
      defaultExpandAll
      selectedKeys={[current]}
      showLine
      onSelect={(keys) => {
        const k = keys[0];
        if (typeof k === 'string' && k !== current) navigate(`/vouchers/${encodeURIComponent(k)}`);
      }}
      aria-label={current}
    />
  );
}
