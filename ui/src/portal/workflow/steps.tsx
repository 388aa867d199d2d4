import type { useGql } from '../../api/hooks';
import {
  ApproveFinancingDocument,
  ApprovePledgeDocument,
  CheckFinancingInvoicesDocument,
  ConfirmFinancingReceiptDocument,
  ConfirmPledgeGoodsDocument,
  EscalateOverdueDocument,
  ExpireWorkflowDeadlineDocument,
  OpenMarginCallDocument,
  ProvideFinancingInfoDocument,
  RecordDisbursementDocument,
  RecordPledgeRepaymentDocument,
  RejectFinancingDocument,
  RejectPledgeDocument,
  ReleasePledgeDocument,
  RequestFinancingInfoDocument,
  ResolveMarginCallDocument,
  WithdrawFinancingDocument,
  WithdrawPledgeDocument,
} from '../../api/generated';
import type { Translate } from '../../i18n/I18nProvider';
import { formatFen, parseYuan } from '../../money/fen';
import type { FieldSpec, Values } from '../actions/ActionForm';
import { todayCst } from '../vouchers/actions';

/** Workflow calls the portals can make, by their process-table name. */
export const STEP_CALLS = [
  'CheckInvoices',
  'RequestInfo',
  'ProvideInfo',
  'ApproveFinancing',
  'RejectFinancing',
  'WithdrawFinancing',
  'RecordDisbursement',
  'ConfirmReceipt',
  'ConfirmGoods',
  'RejectPledge',
  'WithdrawPledge',
  'ApprovePledge',
  'RecordRepayment',
  'ReleasePledge',
  'OpenMarginCall',
  'ResolveMarginCall',
  'Expire',
  'EscalateOverdue',
] as const;
export type StepCall = (typeof STEP_CALLS)[number];

export function isStepCall(c: string): c is StepCall {
  return (STEP_CALLS as readonly string[]).includes(c);
}

/**
 * A margin call is an instance of its own, `{application}#MC{n}`; its calls name the pledge application
 * (and, to expire it, the margin call's number).
 */
export function applicationOf(instanceId: string): string {
  return instanceId.replace(/#MC\d+$/, '');
}

export function marginCallSeqOf(instanceId: string): number | null {
  const m = /#MC(\d+)$/.exec(instanceId);
  return m ? Number(m[1]) : null;
}

/** What the step form knows about the instance. */
export interface StepContext {
  id: string;
  subject: string;
  /** Fen; `null` when sealed and not openable by the caller's organisation. */
  amount: number | null;
  /** Parsed `data` of the instance (the last event's description), when it is JSON. */
  data: Record<string, unknown>;
}

/** Goods value the warehouse confirmed (fen), if the instance data carries it. */
export function confirmedGoodsValue(data: Record<string, unknown>): number | null {
  const c = data.confirmation as Record<string, unknown> | null | undefined;
  const v = c?.goods_value ?? (data.goods_value as unknown);
  return typeof v === 'number' ? v : null;
}

/** The margin call still open (its sequence number), if any. */
export function openMarginCallSeq(data: Record<string, unknown>): number | null {
  const calls = Array.isArray(data.margin_calls) ? (data.margin_calls as Record<string, unknown>[]) : [];
  const open = calls.find((m) => m.state !== 'resolved');
  return open && typeof open.seq === 'number' ? open.seq : null;
}

export function stepFields(call: StepCall, ctx: StepContext, t: Translate): FieldSpec[] {
  const today = todayCst();
  const reason: FieldSpec = { name: 'reason', label: t('form.reason'), kind: 'textarea' };
  switch (call) {
    case 'CheckInvoices':
    case 'ConfirmReceipt':
    case 'ReleasePledge':
    case 'EscalateOverdue':
      return [];
    case 'RequestInfo':
      return [{ name: 'question', label: t('financing.question'), kind: 'textarea' }];
    case 'ProvideInfo':
      return [{ name: 'answer', label: t('financing.answer'), kind: 'textarea' }];
    case 'ApproveFinancing':
      return [
        { name: 'rate', label: t('financing.ratePercent'), kind: 'percent' },
        { name: 'agreementRef', label: t('financing.agreementRef') },
      ];
    case 'RejectFinancing':
    case 'WithdrawFinancing':
    case 'RejectPledge':
    case 'WithdrawPledge':
      return [reason];
    case 'RecordDisbursement':
      return [
        { name: 'paymentRef', label: t('pledge.paymentRef') },
        { name: 'amount', label: t('financing.disbursedYuan'), kind: 'yuan' },
      ];
    case 'ConfirmGoods':
      return [
        { name: 'goodsValue', label: t('pledge.goodsValue'), kind: 'yuan' },
        {
          name: 'iotStatus',
          label: t('pledge.iotStatus'),
          kind: 'select',
          initial: 'NORMAL',
          options: [
            { value: 'NORMAL', label: t('pledge.iot.NORMAL') },
            { value: 'ALERT', label: t('pledge.iot.ALERT') },
          ],
        },
        { name: 'devices', label: t('pledge.devices'), optional: true, help: t('pledge.devicesHelp') },
        { name: 'summary', label: t('pledge.summary') },
      ];
    case 'ApprovePledge': {
      const goods = confirmedGoodsValue(ctx.data);
      return [
        {
          name: 'loanAmount',
          label: t('pledge.loanAmount'),
          kind: 'yuan',
          help: goods !== null ? t('pledge.loanHelp', { value: formatFen(goods) }) : undefined,
        },
        {
          name: 'pledgeRate',
          label: t('pledge.pledgeRate'),
          kind: 'percent',
          initial: '70',
          check: (v, all) => {
            const loan = String(all.loanAmount ?? '');
            if (goods === null || !loan) return null;
            const [rate, amount] = [parseYuan(v), parseYuan(loan)];
            return rate !== null && amount !== null && amount * 10_000n > rate * BigInt(goods) ? t('pledge.aboveRate', { max: formatFen((rate * BigInt(goods)) / 10_000n) }) : null;
          },
        },
        { name: 'due', label: t('pledge.due'), kind: 'date', check: (v) => (v < today ? t('valid.notPast', { today }) : null) },
        { name: 'agreementRef', label: t('financing.agreementRef') },
      ];
    }
    case 'RecordRepayment':
      return [{ name: 'paymentRef', label: t('pledge.paymentRef') }];
    case 'OpenMarginCall':
      return [reason];
    case 'ResolveMarginCall':
      return [{ name: 'resolution', label: t('pledge.resolution'), kind: 'textarea' }];
    case 'Expire':
      return [
        {
          name: 'marginCallSeq',
          label: t('workflow.marginCallSeq'),
          kind: 'int',
          optional: true,
          initial: String(marginCallSeqOf(ctx.id) ?? openMarginCallSeq(ctx.data) ?? '') || undefined,
          help: t('workflow.marginCallSeqHelp'),
        },
      ];
  }
}

export function submitStep(gql: ReturnType<typeof useGql>, call: StepCall, ctx: StepContext, v: Values): Promise<object> {
  const s = (k: string) => String(v[k] ?? '');
  const applicationId = applicationOf(ctx.id);
  switch (call) {
    case 'CheckInvoices':
      return gql(CheckFinancingInvoicesDocument, { applicationId });
    case 'RequestInfo':
      return gql(RequestFinancingInfoDocument, { applicationId, question: s('question') });
    case 'ProvideInfo':
      return gql(ProvideFinancingInfoDocument, { applicationId, answer: s('answer') });
    case 'ApproveFinancing':
      return gql(ApproveFinancingDocument, { applicationId, discountRateBp: Number(v.rate), agreementRef: s('agreementRef') });
    case 'RejectFinancing':
      return gql(RejectFinancingDocument, { applicationId, reason: s('reason') });
    case 'WithdrawFinancing':
      return gql(WithdrawFinancingDocument, { applicationId, reason: s('reason') });
    case 'RecordDisbursement':
      return gql(RecordDisbursementDocument, { applicationId, paymentRef: s('paymentRef'), amount: Number(v.amount) });
    case 'ConfirmReceipt':
      return gql(ConfirmFinancingReceiptDocument, { applicationId });
    case 'ConfirmGoods':
      return gql(ConfirmPledgeGoodsDocument, {
        applicationId,
        goodsValue: Number(v.goodsValue),
        iot: {
          status: s('iotStatus') === 'ALERT' ? 'ALERT' : 'NORMAL',
          devices: s('devices')
            .split(/[\s,，]+/)
            .filter(Boolean),
          observedMs: Date.now(),
          summary: s('summary'),
        },
      });
    case 'RejectPledge':
      return gql(RejectPledgeDocument, { applicationId, reason: s('reason') });
    case 'WithdrawPledge':
      return gql(WithdrawPledgeDocument, { applicationId, reason: s('reason') });
    case 'ApprovePledge':
      return gql(ApprovePledgeDocument, {
        applicationId,
        loanAmount: Number(v.loanAmount),
        pledgeRateBp: Number(v.pledgeRate),
        due: s('due'),
        agreementRef: s('agreementRef'),
      });
    case 'RecordRepayment':
      return gql(RecordPledgeRepaymentDocument, { applicationId, paymentRef: s('paymentRef') });
    case 'ReleasePledge':
      return gql(ReleasePledgeDocument, { applicationId });
    case 'OpenMarginCall':
      return gql(OpenMarginCallDocument, { applicationId, reason: s('reason') });
    case 'ResolveMarginCall':
      return gql(ResolveMarginCallDocument, { applicationId, resolution: s('resolution') });
    case 'Expire':
      return gql(ExpireWorkflowDeadlineDocument, { applicationId, marginCallSeq: v.marginCallSeq === undefined ? null : Number(v.marginCallSeq) });
    case 'EscalateOverdue':
      return gql(EscalateOverdueDocument, { rootId: ctx.subject });
  }
}
