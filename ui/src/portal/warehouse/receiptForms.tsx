import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Form, Input, Modal, Space } from 'antd';

import { IssueWarehouseReceiptDocument, SplitWarehouseReceiptDocument, type GoodsIdentityInput, type ReceiptFieldsFragment } from '../../api/generated';
import { useGql } from '../../api/hooks';
import { useI18n } from '../../i18n/I18nProvider';
import { GLN_LENGTHS, gs1Problem } from '../../validate/keys';
import { ActionForm, type FieldSpec, type Values } from '../actions/ActionForm';
import { useTx } from '../useTx';
import { todayCst } from '../vouchers/actions';

/** A warehouse code of 13 digits is read as a GLN and must carry a valid check digit; other codes are the operator's own. */
export function warehouseCodeProblem(code: string): 'check' | null {
  return /^\d{13}$/.test(code) && gs1Problem(code, GLN_LENGTHS) ? 'check' : null;
}

/** 货物标识 from the form: serials if listed, else GTIN + lot if a GTIN is given, else the lot. */
export function identityOf(gtin: string | undefined, lot: string | undefined, serials: string | undefined): GoodsIdentityInput {
  const list = (serials ?? '')
    .split(/[\s,，]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length > 0) return { kind: 'SERIALS', gtin: gtin || null, serials: list };
  if (gtin) return { kind: 'GTIN_LOT', gtin, lot: lot ?? '' };
  return { kind: 'LOT', lot: lot ?? '' };
}

/** The operator issues a receipt (GB/T 30332-2024 elements) to the depositor, the first holder. */
export function IssueReceiptForm({ onDone }: { onDone?: () => void }) {
  const { t } = useI18n();
  const gql = useGql();
  const today = todayCst();
  const anyInsurance = (all: Record<string, unknown>) => ['insurer', 'policyNumber', 'insuredAmount', 'insuredUntil'].some((k) => String(all[k] ?? '').trim() !== '');
  const insured = (field: string) => (_: string, all: Record<string, unknown>) =>
    anyInsurance(all) && String(all[field] ?? '').trim() === '' ? t('receiptForm.insuranceAll') : null;
  const fields: FieldSpec[] = [
    { name: 'number', label: t('receipt.number'), kind: 'receiptNo', placeholder: 'CMST-WR-2026-0101' },
    { name: 'depositor', label: t('receipt.depositor'), kind: 'org' },
    { name: 'goodsName', label: t('receiptForm.goodsName') },
    { name: 'spec', label: t('invoice.spec'), optional: true },
    { name: 'unit', label: t('invoiceForm.unit'), placeholder: 'kg' },
    { name: 'quantity', label: t('receipt.quantity'), kind: 'int' },
    { name: 'packaging', label: t('receipt.packaging'), optional: true },
    {
      name: 'warehouse',
      label: t('receiptForm.warehouse'),
      help: t('receiptForm.warehouseHelp'),
      check: (v) => (warehouseCodeProblem(v) ? t('valid.gs1.check', { key: 'GLN', lengths: '13' }) : null),
    },
    { name: 'zone', label: t('receiptForm.zone') },
    { name: 'bin', label: t('receiptForm.bin') },
    { name: 'gtin', label: t('receiptForm.gtin'), kind: 'gtin', optional: true, help: t('receiptForm.gtinHelp') },
    {
      name: 'lot',
      label: t('receiptForm.lot'),
      optional: true,
      checkEmpty: true,
      check: (v, all) => (!v && !String(all.serials ?? '').trim() ? t('receiptForm.lotOrSerials') : null),
    },
    { name: 'serials', label: t('receiptForm.serials'), kind: 'textarea', optional: true, help: t('receiptForm.serialsHelp') },
    { name: 'validUntil', label: t('receipt.validUntil'), kind: 'date', check: (v) => (v < today ? t('valid.notPast', { today }) : null) },
    { name: 'rightsNotice', label: t('receiptForm.rightsNotice'), kind: 'textarea', initial: '本仓单可背书转让、质押；质押期间未经质权人同意不得提货。' },
    { name: 'insurer', label: t('receiptForm.insurer'), optional: true, checkEmpty: true, check: insured('insurer') },
    { name: 'policyNumber', label: t('receiptForm.policyNumber'), optional: true, checkEmpty: true, check: insured('policyNumber') },
    { name: 'insuredAmount', label: t('receiptForm.insuredAmount'), kind: 'yuan', optional: true, checkEmpty: true, check: insured('insuredAmount') },
    {
      name: 'insuredUntil',
      label: t('receiptForm.insuredUntil'),
      kind: 'date',
      optional: true,
      checkEmpty: true,
      check: (v, all) => insured('insuredUntil')(v, all) ?? (v && v < today ? t('valid.notPast', { today }) : null),
    },
  ];
  // Checks that depend on other fields run on submit too (an empty optional field is not validated by itself).
  const submit = (v: Values) => {
    const s = (k: string) => (v[k] === undefined ? '' : String(v[k]));
    const insurance =
      s('insurer') || s('policyNumber') || s('insuredAmount') || s('insuredUntil')
        ? { insurer: s('insurer'), policyNumber: s('policyNumber'), insuredAmount: Number(v.insuredAmount ?? 0), currency: 'CNY', validUntil: s('insuredUntil') }
        : null;
    return gql(IssueWarehouseReceiptDocument, {
      input: {
        number: s('number'),
        depositor: s('depositor'),
        goodsName: s('goodsName'),
        spec: s('spec'),
        unit: s('unit'),
        quantity: Number(v.quantity),
        packaging: s('packaging'),
        location: { warehouse: s('warehouse'), zone: s('zone'), bin: s('bin') },
        identity: identityOf(s('gtin') || undefined, s('lot') || undefined, s('serials') || undefined),
        insurance,
        validUntil: s('validUntil'),
        rightsNotice: s('rightsNotice'),
      },
    });
  };
  return <ActionForm title={t('receiptForm.issue')} fields={fields} submit={submit} onDone={onDone} />;
}

interface SplitValues {
  parts: { quantity?: string; zone?: string; bin?: string; lot?: string; serials?: string }[];
}

/** The holder splits a receipt by quantity: parts must add up to it and be distinct goods (bin, sub-lot or serials). */
export function ReceiptSplitModal({ receipt: r, onClose, onDone }: { receipt: ReceiptFieldsFragment; onClose: () => void; onDone: () => void }) {
  const { t } = useI18n();
  const gql = useGql();
  const { run, busy } = useTx();
  const [form] = Form.useForm<SplitValues>();
  const parts = (Form.useWatch('parts', form) ?? []) as SplitValues['parts'];
  const sum = parts.reduce((s, p) => s + (p?.quantity && /^\d+$/.test(p.quantity) ? BigInt(p.quantity) : 0n), 0n);
  const equal = sum === BigInt(r.quantity);
  const title = `${t('receipt.action.split')} · ${r.number}`;
  const req = (label: string) => ({ required: true, whitespace: true, message: t('form.required', { field: label }) });
  const initialPart = { zone: r.location.zone, bin: r.location.bin, lot: r.identity.lot ?? '' };
  return (
    <Modal open title={title} onCancel={onClose} footer={null} destroyOnHidden width={760}>
      <Form<SplitValues>
        form={form}
        layout="vertical"
        requiredMark={false}
        aria-label={title}
        initialValues={{ parts: [initialPart, initialPart] }}
        onFinish={async (v) => {
          const ok = await run(title, () =>
            gql(SplitWarehouseReceiptDocument, {
              number: r.number,
              parts: v.parts.map((p) => ({
                quantity: Number(p.quantity),
                location: { warehouse: r.location.warehouse, zone: (p.zone ?? '').trim(), bin: (p.bin ?? '').trim() },
                identity: identityOf(r.identity.gtin ?? undefined, (p.lot ?? '').trim() || undefined, p.serials),
              })),
            }),
          );
          if (ok) {
            onDone();
            onClose();
          }
        }}
      >
        <Form.List name="parts">
          {(items, { add, remove }) => (
            <>
              {items.map((item, i) => (
                <Card key={item.key} size="small" style={{ marginBottom: 8 }} title={t('receiptForm.partN', { n: i + 1, number: `${r.number}-${i + 1}` })}
                  extra={items.length > 1 && <Button type="text" icon={<MinusCircleOutlined />} aria-label={t('receiptForm.removePart', { n: i + 1 })} onClick={() => remove(item.name)} />}>
                  <Space wrap align="start">
                    <Form.Item
                      name={[item.name, 'quantity']}
                      label={t('receipt.quantity')}
                      rules={[req(t('receipt.quantity')), { pattern: /^[1-9]\d{0,17}$/, message: t('form.fieldError', { field: t('receipt.quantity'), reason: t('valid.int', { min: 1, max: r.quantity }) }) }]}
                    >
                      <Input aria-label={t('receiptForm.partField', { n: i + 1, field: t('receipt.quantity') })} style={{ width: 120 }} suffix={r.unit} inputMode="numeric" />
                    </Form.Item>
                    <Form.Item name={[item.name, 'zone']} label={t('receiptForm.zone')} rules={[req(t('receiptForm.zone'))]}>
                      <Input aria-label={t('receiptForm.partField', { n: i + 1, field: t('receiptForm.zone') })} style={{ width: 90 }} />
                    </Form.Item>
                    <Form.Item name={[item.name, 'bin']} label={t('receiptForm.bin')} rules={[req(t('receiptForm.bin'))]}>
                      <Input aria-label={t('receiptForm.partField', { n: i + 1, field: t('receiptForm.bin') })} style={{ width: 100 }} />
                    </Form.Item>
                    {r.identity.kind === 'SERIALS' ? (
                      <Form.Item name={[item.name, 'serials']} label={t('receiptForm.serials')} rules={[req(t('receiptForm.serials'))]}>
                        <Input.TextArea aria-label={t('receiptForm.partField', { n: i + 1, field: t('receiptForm.serials') })} rows={2} style={{ width: 260 }} />
                      </Form.Item>
                    ) : (
                      <Form.Item name={[item.name, 'lot']} label={t('receiptForm.lot')} rules={[req(t('receiptForm.lot'))]}>
                        <Input aria-label={t('receiptForm.partField', { n: i + 1, field: t('receiptForm.lot') })} style={{ width: 180 }} />
                      </Form.Item>
                    )}
                  </Space>
                </Card>
              ))}
              <Button icon={<PlusOutlined />} onClick={() => add(initialPart)} style={{ marginBottom: 12 }}>
                {t('split.addPart')}
              </Button>
            </>
          )}
        </Form.List>
        <Alert
          type={equal ? 'success' : 'warning'}
          showIcon
          data-testid="receipt-split-sum"
          style={{ marginBottom: 12 }}
          message={equal ? t('receiptForm.sumEqual', { sum: String(sum), unit: r.unit }) : t('receiptForm.sumDiffers', { sum: String(sum), quantity: r.quantity, unit: r.unit })}
          description={t('receiptForm.distinctGoods')}
        />
        <Button type="primary" htmlType="submit" block disabled={!equal} loading={busy !== null}>
          {t('receipt.action.split')}
        </Button>
      </Form>
    </Modal>
  );
}
