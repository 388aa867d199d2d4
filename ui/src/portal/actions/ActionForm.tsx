import { Alert, Button, Form, Input, Modal, Select, Typography } from 'antd';
import type { Rule } from 'antd/es/form';
import { useState, type ReactNode } from 'react';
import { Link } from 'react-router-dom';

import type { OrganisationFieldsFragment } from '../../api/generated';
import { useI18n } from '../../i18n/I18nProvider';
import { MAX_API_FEN, parseYuan } from '../../money/fen';
import {
  GLN_LENGTHS,
  GTIN_LENGTHS,
  gs1Problem,
  isAddress,
  isDeviceId,
  isInvoiceNumber,
  isIsoDate,
  isReceiptNumber,
  isSm2PublicKey,
  isUpperId,
  SSCC_LENGTHS,
  usccProblem,
} from '../../validate/keys';
import { passwordProblem } from '../../validate/password';
import { useOrgs } from '../OrgDirectory';
import { useTx, type TxOutcome } from '../useTx';

/**
 * What a field holds and how it is checked. Checks mirror the chain's (same patterns, same check digits)
 * so a mistake is named at the field, before anything is signed.
 */
export type FieldKind =
  | 'text'
  | 'textarea'
  | 'org'
  | 'orgs'
  | 'select'
  | 'multi'
  | 'yuan'
  | 'percent'
  | 'int'
  | 'date'
  | 'invoiceNo'
  | 'gtin'
  | 'gln'
  | 'sscc'
  | 'uscc'
  | 'sm2key'
  | 'address'
  | 'upperId'
  | 'receiptNo'
  | 'deviceId'
  | 'password';

export interface FieldSpec {
  name: string;
  label: string;
  kind?: FieldKind;
  optional?: boolean;
  options?: { value: string; label: string }[];
  orgFilter?: (o: OrganisationFieldsFragment) => boolean;
  initial?: string | string[];
  placeholder?: string;
  help?: string;
  /** For `int`: smallest and largest value allowed. */
  min?: number;
  max?: number;
  /** Shown (and sent) only while this holds for the form's values. */
  when?: (all: Record<string, unknown>) => boolean;
  /** Run `check` on an empty value too (for fields required only together with others). */
  checkEmpty?: boolean;
  /** An extra check: return a message to refuse the value. */
  check?: (value: string, all: Record<string, unknown>) => string | null;
}

/** Form values as sent: 元 → integer fen, % → basis points, integers as numbers, text trimmed. */
export type Values = Record<string, string | number | string[] | undefined>;

export function convert(fields: readonly FieldSpec[], raw: Record<string, unknown>): Values {
  const out: Values = {};
  for (const f of fields) {
    if (f.when && !f.when(raw)) continue;
    const v = raw[f.name];
    if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) {
      out[f.name] = undefined;
      continue;
    }
    if (Array.isArray(v)) {
      out[f.name] = v.map(String);
      continue;
    }
    // A password is sent as typed: leading or trailing spaces are part of it.
    const s = f.kind === 'password' ? String(v) : String(v).trim();
    switch (f.kind) {
      case 'yuan':
      case 'percent':
        out[f.name] = Number(parseYuan(s)!);
        break;
      case 'int':
        out[f.name] = Number(s);
        break;
      default:
        out[f.name] = s;
    }
  }
  return out;
}

function rulesFor(f: FieldSpec, t: ReturnType<typeof useI18n>['t']): Rule[] {
  const rules: Rule[] = [];
  if (!f.optional) {
    const many = f.kind === 'orgs' || f.kind === 'multi';
    rules.push(many ? { required: true, type: 'array', min: 1, message: t('form.required', { field: f.label }) } : { required: true, whitespace: true, message: t('form.required', { field: f.label }) });
  }
  const reject = (msg: string) => Promise.reject(new Error(t('form.fieldError', { field: f.label, reason: msg })));
  rules.push(({ getFieldsValue }) => ({
    validator: (_: unknown, value: unknown) => {
      if (value === undefined || value === null || value === '' || Array.isArray(value)) {
        const extra = f.checkEmpty ? f.check?.('', getFieldsValue(true) as Record<string, unknown>) : null;
        return extra ? reject(extra) : Promise.resolve();
      }
      const s = f.kind === 'password' ? String(value) : String(value).trim();
      switch (f.kind) {
        case 'password': {
          const p = passwordProblem(s);
          if (p) return reject(t(`password.${p}`));
          break;
        }
        case 'yuan': {
          const fen = parseYuan(s);
          if (fen === null || fen === 0n || fen > MAX_API_FEN) return reject(t('form.amount'));
          break;
        }
        case 'percent': {
          const bp = parseYuan(s);
          if (bp === null || bp === 0n || bp > 10_000n) return reject(t('form.percent'));
          break;
        }
        case 'int': {
          const n = Number(s);
          if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < (f.min ?? 1) || n > (f.max ?? 2_147_483_647)) {
            return reject(t('valid.int', { min: f.min ?? 1, max: f.max ?? 2_147_483_647 }));
          }
          break;
        }
        case 'date':
          if (!isIsoDate(s)) return reject(t('valid.date'));
          break;
        case 'invoiceNo':
          if (!isInvoiceNumber(s)) return reject(t('valid.invoiceNo'));
          break;
        case 'gtin':
        case 'gln':
        case 'sscc': {
          const p = gs1Problem(s, f.kind === 'gtin' ? GTIN_LENGTHS : f.kind === 'gln' ? GLN_LENGTHS : SSCC_LENGTHS);
          if (p) return reject(t(`valid.gs1.${p}`, { key: f.kind.toUpperCase(), lengths: (f.kind === 'gtin' ? GTIN_LENGTHS : f.kind === 'gln' ? GLN_LENGTHS : SSCC_LENGTHS).join('/') }));
          break;
        }
        case 'uscc': {
          const p = usccProblem(s);
          if (p) return reject(t(`valid.uscc.${p}`));
          break;
        }
        case 'sm2key':
          if (!isSm2PublicKey(s)) return reject(t('valid.sm2key'));
          break;
        case 'address':
          if (!isAddress(s)) return reject(t('valid.address'));
          break;
        case 'upperId':
          if (!isUpperId(s)) return reject(t('valid.upperId'));
          break;
        case 'receiptNo':
          if (!isReceiptNumber(s)) return reject(t('valid.receiptNo'));
          break;
        case 'deviceId':
          if (!isDeviceId(s)) return reject(t('valid.deviceId'));
          break;
        default:
          break;
      }
      const extra = f.check?.(s, getFieldsValue(true) as Record<string, unknown>);
      return extra ? reject(extra) : Promise.resolve();
    },
  }));
  return rules;
}

/** One field of an action form, checked as the chain will check it. */
export function FieldItem({ f }: { f: FieldSpec }) {
  if (f.when) {
    const when = f.when;
    return (
      <Form.Item noStyle shouldUpdate>
        {({ getFieldsValue }) => (when(getFieldsValue(true) as Record<string, unknown>) ? <FieldControl f={f} /> : null)}
      </Form.Item>
    );
  }
  return <FieldControl f={f} />;
}

function FieldControl({ f }: { f: FieldSpec }) {
  const { t } = useI18n();
  const orgs = useOrgs();
  const control = (() => {
    switch (f.kind) {
      case 'org':
      case 'orgs':
        return (
          <Select
            showSearch
            mode={f.kind === 'orgs' ? 'multiple' : undefined}
            optionFilterProp="label"
            aria-label={f.label}
            options={orgs.orgs.filter((o) => (f.orgFilter ? f.orgFilter(o) : true)).map((o) => ({ value: o.id, label: o.name }))}
          />
        );
      case 'select':
      case 'multi':
        // Short lists are not virtualised: every option is in the DOM (for screen readers and tests).
        return <Select aria-label={f.label} mode={f.kind === 'multi' ? 'multiple' : undefined} options={f.options ?? []} virtual={(f.options?.length ?? 0) > 50} />;
      case 'textarea':
        return <Input.TextArea aria-label={f.label} rows={3} placeholder={f.placeholder} />;
      case 'password':
        return <Input.Password aria-label={f.label} autoComplete="new-password" />;
      default:
        return (
          <Input
            aria-label={f.label}
            placeholder={f.placeholder ?? (f.kind === 'date' ? 'YYYY-MM-DD' : undefined)}
            inputMode={f.kind === 'yuan' || f.kind === 'percent' ? 'decimal' : f.kind === 'int' ? 'numeric' : 'text'}
            prefix={f.kind === 'yuan' ? '¥' : undefined}
            suffix={f.kind === 'percent' ? '%' : undefined}
            spellCheck={false}
          />
        );
    }
  })();
  return (
    <Form.Item name={f.name} label={f.label} rules={rulesFor(f, t)} extra={f.help} validateFirst>
      {control}
    </Form.Item>
  );
}

/** The on-chain result of the last action: block and transaction, linked to the explorer. */
export function TxOutcomeView({ outcome }: { outcome: TxOutcome | null }) {
  const { t } = useI18n();
  if (!outcome) return null;
  return (
    <Alert
      type="success"
      showIcon
      role="status"
      data-testid="tx-outcome"
      style={{ marginTop: 16 }}
      message={
        <span>
          {t('tx.committed', { action: outcome.label, height: outcome.height })}{' '}
          <Link to={`/explorer/blocks/${outcome.height}`}>{t('tx.viewBlock')}</Link>
        </span>
      }
      description={
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          {t('form.labelled', { label: t('tx.txId'), value: '' })}<Link to={`/explorer/tx/${outcome.txId}`}>{outcome.txId}</Link>
        </Typography.Text>
      }
    />
  );
}

/**
 * A form for one on-chain action: fields checked as the chain checks them, values converted (元 → fen,
 * % → basis points), the action's outcome shown with its block and transaction.
 */
export function ActionForm({
  title,
  fields,
  submit,
  onDone,
  children,
  submitLabel,
  danger,
}: {
  title: string;
  fields: FieldSpec[];
  submit: (v: Values) => Promise<object>;
  onDone?: (r: object) => void;
  children?: ReactNode;
  submitLabel?: string;
  danger?: boolean;
}) {
  const { run, busy, last } = useTx();
  const [form] = Form.useForm();
  const initialValues = Object.fromEntries(fields.filter((f) => f.initial !== undefined).map((f) => [f.name, f.initial]));
  return (
    <>
      <Form
        form={form}
        layout="vertical"
        requiredMark={false}
        aria-label={title}
        initialValues={initialValues}
        style={{ maxWidth: 720 }}
        onFinish={async (raw: Record<string, unknown>) => {
          const r = await run(title, () => submit(convert(fields, raw)));
          if (r) onDone?.(r);
        }}
      >
        {fields.map((f) => (
          <FieldItem key={f.name} f={f} />
        ))}
        {children}
        <Button type="primary" danger={danger} htmlType="submit" loading={busy !== null}>
          {submitLabel ?? title}
        </Button>
      </Form>
      <TxOutcomeView outcome={last} />
    </>
  );
}

/** `ActionForm` in a dialog (row actions of tables); closes once the action is on chain. */
export function ActionModal({
  title,
  fields,
  submit,
  onClose,
  onDone,
  danger,
  intro,
}: {
  title: string;
  fields: FieldSpec[];
  submit: (v: Values) => Promise<object>;
  onClose: () => void;
  onDone?: (r: object) => void;
  danger?: boolean;
  intro?: ReactNode;
}) {
  const { run, busy } = useTx();
  const [form] = Form.useForm();
  const [submitted, setSubmitted] = useState(false);
  const initialValues = Object.fromEntries(fields.filter((f) => f.initial !== undefined).map((f) => [f.name, f.initial]));
  return (
    <Modal open title={title} onCancel={onClose} footer={null} destroyOnHidden>
      {intro}
      <Form
        form={form}
        layout="vertical"
        requiredMark={false}
        aria-label={title}
        initialValues={initialValues}
        onFinish={async (raw: Record<string, unknown>) => {
          if (submitted) return;
          setSubmitted(true);
          const r = await run(title, () => submit(convert(fields, raw)));
          setSubmitted(false);
          if (r) {
            onDone?.(r);
            onClose();
          }
        }}
      >
        {fields.map((f) => (
          <FieldItem key={f.name} f={f} />
        ))}
        <Button type="primary" danger={danger} htmlType="submit" loading={busy !== null} block>
          {title}
        </Button>
      </Form>
    </Modal>
  );
}
