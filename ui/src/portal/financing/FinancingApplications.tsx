import { Button, Descriptions, Flex, Space, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router-dom';

import {
  ApproveFinancingDocument,
  CheckFinancingInvoicesDocument,
  ConfirmFinancingReceiptDocument,
  FinancingApplicationsDocument,
  MyEventsDocument,
  ProvideFinancingInfoDocument,
  RecordDisbursementDocument,
  RejectFinancingDocument,
  WithdrawFinancingDocument,
  RequestFinancingInfoDocument,
  type FinancingApplicationFieldsFragment,
  type FinancingFilter,
} from '../../api/generated';
import { useGql, useQuery, useSubscription } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { formatFen, parseYuan, toApiFen } from '../../money/fen';
import { formatTime } from '../../explorer/format';
import { FieldsModal } from '../FieldsModal';
import { Money } from '../Money';
import { useOrgs } from '../OrgDirectory';
import { QueryView } from '../QueryView';
import { useTx } from '../useTx';
import { financingActions, type FinancingAction } from './financingActions';
import { RegistrationRecordButton } from './RegistrationRecord';

type App = FinancingApplicationFieldsFragment;

const STATE_COLORS: Record<string, string> = {
  submitted: 'gold',
  info_requested: 'orange',
  approved: 'green',
  disbursed: 'cyan',
  completed: 'blue',
  rejected: 'red',
  expired: 'default',
};

/** Financing applications (voucher financing workflow) with the steps the caller's organisation may take. */
export function FinancingApplications({ filter, label }: { filter: FinancingFilter; label: string }) {
  const { t, locale } = useI18n();
  const orgs = useOrgs();
  const gql = useGql();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  const canAct = session?.user.role !== 'viewer';
  const query = useQuery(FinancingApplicationsDocument, { filter });
  useSubscription(MyEventsDocument, {}, (e) => {
    if (e.myEvents.module === 'workflow' || e.myEvents.module === 'voucher') query.refetch();
  });
  const { run, busy } = useTx();
  const [dialog, setDialog] = useState<{ action: FinancingAction; app: App } | null>(null);
  const label_ = (a: FinancingAction) => t(`financing.action.${a}`);
  const act = async <R extends object>(a: FinancingAction, f: () => Promise<R>) => {
    if (await run(label_(a), f)) {
      setDialog(null);
      query.refetch();
    }
  };
  const state = (s: string) => <Tag color={STATE_COLORS[s] ?? 'default'}>{stateLabel(t, s)}</Tag>;
  const columns: TableColumnsType<App> = [
    { title: t('financing.id'), dataIndex: 'id' },
    {
      title: t('voucher.id'),
      dataIndex: 'voucherId',
      render: (id: string) => <Link to={`/vouchers/${encodeURIComponent(id)}`}>{id}</Link>,
    },
    { title: t('financing.supplier'), dataIndex: 'supplier', render: (o: string) => orgs.name(o), responsive: ['md'] },
    { title: t('financing.funder'), dataIndex: 'funder', render: (o: string) => orgs.name(o), responsive: ['lg'] },
    { title: t('voucher.amount'), key: 'amount', align: 'right', render: (_, a) => <Money fen={a.amount} currency={a.currency} /> },
    {
      title: t('financing.requestedRate'),
      dataIndex: 'requestedRateBp',
      render: (bp: number | null) => (bp === null ? t('terms.sealedHidden') : `≤ ${formatFen(bp, { grouping: false })}%`),
    },
    { title: t('voucher.dueDate'), dataIndex: 'dueDate', responsive: ['lg'] },
    { title: t('financing.state'), dataIndex: 'state', render: (s: string) => state(s) },
    {
      title: t('voucher.actions'),
      key: 'actions',
      render: (_, a) =>
        canAct ? (
          <Flex wrap gap={4}>
            {financingActions(a, me).map((x) => (
              <Button
                key={x}
                size="small"
                type={x === 'approve' || x === 'confirm' ? 'primary' : 'default'}
                danger={x === 'reject' || x === 'withdraw'}
                loading={busy === label_(x)}
                aria-label={`${label_(x)} ${a.id}`}
                onClick={() => {
                  if (x === 'check') void act(x, () => gql(CheckFinancingInvoicesDocument, { applicationId: a.id }));
                  else if (x === 'confirm') void act(x, () => gql(ConfirmFinancingReceiptDocument, { applicationId: a.id }));
                  else setDialog({ action: x, app: a });
                }}
              >
                {label_(x)}
              </Button>
            ))}
          </Flex>
        ) : null,
    },
  ];
  const d = dialog;
  return (
    <section aria-label={label}>
      <QueryView query={query}>
        {(data) => (
          <Table<App>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={data.financingApplications}
            loading={query.loading}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: t('state.empty') }}
            aria-label={label}
            expandable={{ expandedRowRender: (a) => <ApplicationDetails app={a} locale={locale} /> }}
          />
        )}
      </QueryView>
      {d && (
        <FieldsModal
          open
          title={`${label_(d.action)} · ${d.app.id}`}
          busy={busy === label_(d.action)}
          onCancel={() => setDialog(null)}
          fields={
            d.action === 'approve'
              ? [
                  { name: 'rate', label: t('financing.ratePercent'), kind: 'percent', initial: d.app.requestedRateBp === null ? undefined : formatFen(d.app.requestedRateBp, { grouping: false }) },
                  { name: 'agreementRef', label: t('financing.agreementRef') },
                ]
              : d.action === 'ask'
                ? [{ name: 'text', label: t('financing.question'), kind: 'textarea' }]
                : d.action === 'answer'
                  ? [{ name: 'text', label: t('financing.answer'), kind: 'textarea' }]
                  : d.action === 'disburse'
                    ? [
                        { name: 'paymentRef', label: t('settlement.paymentRef') },
                        { name: 'amount', label: t('financing.disbursedYuan'), kind: 'yuan', initial: d.app.approval?.netAmount != null ? formatFen(d.app.approval.netAmount, { grouping: false }) : undefined },
                      ]
                    : [{ name: 'text', label: t('form.reason'), kind: 'textarea' }]
          }
          onSubmit={(f) => {
            const id = d.app.id;
            if (d.action === 'approve')
              void act('approve', () => gql(ApproveFinancingDocument, { applicationId: id, discountRateBp: Number(parseYuan(f.rate!)), agreementRef: f.agreementRef!.trim() }));
            else if (d.action === 'ask') void act('ask', () => gql(RequestFinancingInfoDocument, { applicationId: id, question: f.text!.trim() }));
            else if (d.action === 'answer') void act('answer', () => gql(ProvideFinancingInfoDocument, { applicationId: id, answer: f.text!.trim() }));
            else if (d.action === 'disburse')
              void act('disburse', () => gql(RecordDisbursementDocument, { applicationId: id, paymentRef: f.paymentRef!.trim(), amount: toApiFen(parseYuan(f.amount!)!) }));
            else if (d.action === 'withdraw') void act('withdraw', () => gql(WithdrawFinancingDocument, { applicationId: id, reason: f.text!.trim() }));
            else void act('reject', () => gql(RejectFinancingDocument, { applicationId: id, reason: f.text!.trim() }));
          }}
        />
      )}
    </section>
  );
}

function stateLabel(t: ReturnType<typeof useI18n>['t'], s: string): string {
  switch (s) {
    case 'submitted':
    case 'info_requested':
    case 'approved':
    case 'disbursed':
    case 'completed':
    case 'rejected':
    case 'withdrawn':
    case 'expired':
      return t(`financing.state.${s}`);
    default:
      return s;
  }
}

function ApplicationDetails({ app: a, locale }: { app: App; locale: string }) {
  const { t } = useI18n();
  return (
    <Descriptions column={{ xs: 1, md: 2 }} size="small">
      <Descriptions.Item label={t('voucher.invoices')}>{a.invoices.join('、') || '—'}</Descriptions.Item>
      {a.deadlineMs !== null && <Descriptions.Item label={t('financing.deadline')}>{formatTime(a.deadlineMs, locale)}</Descriptions.Item>}
      {a.invoiceCheck && (
        <Descriptions.Item label={t('financing.invoiceCheck')}>
          {a.invoiceCheck.passed ? <Tag color="success">{t('financing.checkPassed')}</Tag> : <Tag color="error">{a.invoiceCheck.failure ?? t('financing.checkFailed')}</Tag>}
        </Descriptions.Item>
      )}
      {a.info.map((q, i) => (
        <Descriptions.Item key={i} label={t('financing.questionN', { n: i + 1 })}>
          <Typography.Text>{q.question}</Typography.Text>
          {q.answer && (
            <>
              {' → '}
              <Typography.Text type="secondary">{q.answer}</Typography.Text>
            </>
          )}
        </Descriptions.Item>
      ))}
      {a.termsBreach && (
        <Descriptions.Item label={t('terms.breach')}>
          <Tag color="error">{a.termsBreach}</Tag>
        </Descriptions.Item>
      )}
      {a.approval && (
        <>
          <Descriptions.Item label={t('financing.approvedRate')}>
            {a.approval.discountRateBp === null ? t('terms.sealedHidden') : `${formatFen(a.approval.discountRateBp, { grouping: false })}%`}
          </Descriptions.Item>
          <Descriptions.Item label={t('financing.interest')}>
            {a.approval.discountInterest === null ? t('terms.sealedHidden') : <Money fen={a.approval.discountInterest} />}
          </Descriptions.Item>
          <Descriptions.Item label={t('financing.net')}>
            {a.approval.netAmount === null ? t('terms.sealedHidden') : <Money fen={a.approval.netAmount} />}
          </Descriptions.Item>
          <Descriptions.Item label={t('financing.registrationNo')}>
            <Space>
              {a.approval.registrationNo}
              <RegistrationRecordButton voucherId={a.voucherId} />
            </Space>
          </Descriptions.Item>
          <Descriptions.Item label={t('financing.agreementRef')}>{a.approval.agreementRef}</Descriptions.Item>
        </>
      )}
      {a.disbursement && (
        <Descriptions.Item label={t('financing.disbursement')}>
          {a.disbursement.amount === null ? t('terms.sealedHidden') : <Money fen={a.disbursement.amount} />} · {a.disbursement.paymentRef} ·{' '}
          {a.disbursement.date}
        </Descriptions.Item>
      )}
      {a.rejection && <Descriptions.Item label={t('financing.rejection')}>{a.rejection}</Descriptions.Item>}
      {a.documents.length > 0 && (
        <Descriptions.Item label={t('financing.documents')}>{a.documents.map((doc) => `${doc.name} (SM3 ${doc.sm3.slice(0, 12)}…)`).join('、')}</Descriptions.Item>
      )}
    </Descriptions>
  );
}
