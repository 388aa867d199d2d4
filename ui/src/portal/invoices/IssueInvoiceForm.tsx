import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Descriptions, Form, Input, Select, Space, Typography } from 'antd';

import { IssueInvoiceDocument } from '../../api/generated';
import { useGql } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { formatFen, toApiFen } from '../../money/fen';
import { checkLine, invoiceTotals, type LineInput, type LineProblem } from '../../validate/invoice';
import { isInvoiceNumber, isIsoDate, usccProblem } from '../../validate/keys';
import { useOrgs } from '../OrgDirectory';
import { todayCst } from '../vouchers/actions';
import { TxOutcomeView } from '../actions/ActionForm';
import { useTx } from '../useTx';

interface Values {
  number: string;
  issueDate: string;
  buyerOrg?: string;
  buyerName?: string;
  buyerTaxId?: string;
  lines: (LineInput & { itemName?: string; spec?: string; unit?: string })[];
  remarks?: string;
  issuer: string;
}

/**
 * The seller issues a 数电票 with its lines. The chain recomputes every line (quantity × unit price, tax
 * at the rate, one fen of tolerance) and requires the totals to be the sums: the form does the same
 * arithmetic live, so the totals it sends are the ones the chain will accept.
 */
export function IssueInvoiceForm() {
  const { t } = useI18n();
  const gql = useGql();
  const orgs = useOrgs();
  const { session } = useSession();
  const me = orgs.byId.get(session?.organisation.id ?? '');
  const { run, busy, last } = useTx();
  const [form] = Form.useForm<Values>();
  const lines = (Form.useWatch('lines', form) ?? []) as Values['lines'];
  const buyerOrg = Form.useWatch('buyerOrg', form) as string | undefined;
  const checked = lines.map((l) => checkLine(l ?? {}));
  const totals = invoiceTotals(checked);
  const problemText = (p: LineProblem) =>
    p.kind === 'mismatch' ? t('invoiceForm.mismatch', { expected: formatFen(p.expected) }) : p.kind === 'pair' ? t('invoiceForm.pair') : t('invoiceForm.invalid');
  // Judged on the form's current values (not the last render's), so the message follows each keystroke.
  const lineRule =
    (i: number, field: LineProblem['field'], label: string) =>
    ({ getFieldValue }: { getFieldValue: (name: (string | number)[]) => unknown }) => ({
      validator: () => {
        const p = checkLine((getFieldValue(['lines', i]) as LineInput | undefined) ?? {}).problems.find((x) => x.field === field);
        return p ? Promise.reject(new Error(t('form.fieldError', { field: `${t('invoiceForm.lineN', { n: i + 1 })} ${label}`, reason: problemText(p) }))) : Promise.resolve();
      },
    });
  const submit = async (v: Values) => {
    const buyer = v.buyerOrg ? orgs.byId.get(v.buyerOrg) : undefined;
    const rows = v.lines.map((l) => ({ l, c: checkLine(l) }));
    await run(t('invoiceForm.submit'), () =>
      gql(IssueInvoiceDocument, {
        input: {
          number: v.number.trim(),
          issueDate: v.issueDate.trim(),
          currency: 'CNY',
          seller: { name: me?.name ?? '', taxId: me?.creditCode ?? '' },
          buyer: buyer ? { name: buyer.name, taxId: buyer.creditCode } : { name: (v.buyerName ?? '').trim(), taxId: (v.buyerTaxId ?? '').trim() },
          buyerOrg: buyer ? buyer.id : null,
          lines: rows.map(({ l, c }) => ({
            itemName: (l.itemName ?? '').trim(),
            spec: (l.spec ?? '').trim(),
            unit: (l.unit ?? '').trim(),
            quantity: l.quantity?.trim() || null,
            unitPrice: l.unitPrice?.trim() || null,
            amount: toApiFen(c.amount),
            taxRateBp: Number(c.rateBp),
            taxAmount: toApiFen(c.tax),
          })),
          totalAmount: toApiFen(totals.totalAmount),
          totalTax: toApiFen(totals.totalTax),
          totalWithTax: toApiFen(totals.totalWithTax),
          remarks: (v.remarks ?? '').trim(),
          issuer: v.issuer.trim(),
        },
      }),
    );
  };
  const req = (label: string) => ({ required: true, whitespace: true, message: t('form.required', { field: label }) });
  return (
    <>
      <Form<Values>
        form={form}
        layout="vertical"
        requiredMark={false}
        aria-label={t('invoiceForm.title')}
        onFinish={submit}
        initialValues={{ issueDate: todayCst(), lines: [{ taxRate: '13' }] }}
        style={{ maxWidth: 960 }}
      >
        <Descriptions size="small" column={1} style={{ marginBottom: 12 }}>
          <Descriptions.Item label={t('invoice.seller')}>{me ? `${me.name}（${me.creditCode}）` : '—'}</Descriptions.Item>
        </Descriptions>
        <Space wrap align="start">
          <Form.Item
            name="number"
            label={t('invoice.number')}
            rules={[req(t('invoice.number')), { validator: (_, v?: string) => (!v || isInvoiceNumber(v.trim()) ? Promise.resolve() : Promise.reject(new Error(t('form.fieldError', { field: t('invoice.number'), reason: t('valid.invoiceNo') })))) }]}
          >
            <Input aria-label={t('invoice.number')} style={{ width: 260 }} placeholder="26312000000000189999" />
          </Form.Item>
          <Form.Item
            name="issueDate"
            label={t('invoice.issueDate')}
            rules={[
              req(t('invoice.issueDate')),
              {
                validator: (_, v?: string) =>
                  !v || !isIsoDate(v.trim())
                    ? v ? Promise.reject(new Error(t('form.fieldError', { field: t('invoice.issueDate'), reason: t('valid.date') }))) : Promise.resolve()
                    : v.trim() > todayCst()
                      ? Promise.reject(new Error(t('form.fieldError', { field: t('invoice.issueDate'), reason: t('invoiceForm.future') })))
                      : Promise.resolve(),
              },
            ]}
          >
            <Input aria-label={t('invoice.issueDate')} style={{ width: 140 }} placeholder="YYYY-MM-DD" />
          </Form.Item>
          <Form.Item name="buyerOrg" label={t('invoiceForm.buyerOrg')} extra={t('invoiceForm.buyerOrgHelp')}>
            <Select
              allowClear
              showSearch
              optionFilterProp="label"
              aria-label={t('invoiceForm.buyerOrg')}
              style={{ width: 320 }}
              options={orgs.orgs.filter((o) => o.id !== me?.id).map((o) => ({ value: o.id, label: o.name }))}
            />
          </Form.Item>
        </Space>
        {!buyerOrg && (
          <Space wrap align="start">
            <Form.Item name="buyerName" label={t('invoiceForm.buyerName')} rules={[req(t('invoiceForm.buyerName'))]}>
              <Input aria-label={t('invoiceForm.buyerName')} style={{ width: 320 }} />
            </Form.Item>
            <Form.Item
              name="buyerTaxId"
              label={t('invoiceForm.buyerTaxId')}
              rules={[
                req(t('invoiceForm.buyerTaxId')),
                {
                  validator: (_, v?: string) => {
                    const p = v ? usccProblem(v.trim()) : null;
                    return p ? Promise.reject(new Error(t('form.fieldError', { field: t('invoiceForm.buyerTaxId'), reason: t(`valid.uscc.${p}`) }))) : Promise.resolve();
                  },
                },
              ]}
            >
              <Input aria-label={t('invoiceForm.buyerTaxId')} style={{ width: 240 }} />
            </Form.Item>
          </Space>
        )}
        <Typography.Title level={5}>{t('invoice.lines')}</Typography.Title>
        <Form.List name="lines">
          {(items, { add, remove }) => (
            <>
              {items.map((item, i) => {
                const c = checked[i];
                return (
                  <Card key={item.key} size="small" style={{ marginBottom: 8 }} title={t('invoiceForm.lineN', { n: i + 1 })} extra={items.length > 1 && <Button type="text" icon={<MinusCircleOutlined />} aria-label={t('invoiceForm.removeLine', { n: i + 1 })} onClick={() => remove(item.name)} />}>
                    <Space wrap align="start">
                      <Form.Item name={[item.name, 'itemName']} label={t('invoice.item')} rules={[req(t('invoice.item'))]}>
                        <Input aria-label={t('invoiceForm.field', { n: i + 1, field: t('invoice.item') })} style={{ width: 220 }} placeholder="*汽车零部件*制动盘" />
                      </Form.Item>
                      <Form.Item name={[item.name, 'spec']} label={t('invoice.spec')}>
                        <Input aria-label={t('invoiceForm.field', { n: i + 1, field: t('invoice.spec') })} style={{ width: 110 }} />
                      </Form.Item>
                      <Form.Item name={[item.name, 'unit']} label={t('invoiceForm.unit')}>
                        <Input aria-label={t('invoiceForm.field', { n: i + 1, field: t('invoiceForm.unit') })} style={{ width: 70 }} />
                      </Form.Item>
                      <Form.Item name={[item.name, 'quantity']} label={t('invoice.quantity')} rules={[lineRule(i, 'quantity', t('invoice.quantity'))]} dependencies={[['lines', item.name, 'unitPrice']]}>
                        <Input aria-label={t('invoiceForm.field', { n: i + 1, field: t('invoice.quantity') })} style={{ width: 110 }} inputMode="decimal" />
                      </Form.Item>
                      <Form.Item name={[item.name, 'unitPrice']} label={t('invoiceForm.unitPrice')} rules={[lineRule(i, 'unitPrice', t('invoiceForm.unitPrice'))]}>
                        <Input aria-label={t('invoiceForm.field', { n: i + 1, field: t('invoiceForm.unitPrice') })} style={{ width: 120 }} inputMode="decimal" />
                      </Form.Item>
                      <Form.Item
                        name={[item.name, 'amount']}
                        label={t('invoiceForm.amount')}
                        extra={c && !lines[i]?.amount?.trim() && c.amount > 0n ? `= ¥${formatFen(c.amount)}` : undefined}
                        rules={[lineRule(i, 'amount', t('invoiceForm.amount'))]}
                        dependencies={[['lines', item.name, 'quantity'], ['lines', item.name, 'unitPrice']]}
                      >
                        <Input aria-label={t('invoiceForm.field', { n: i + 1, field: t('invoiceForm.amount') })} style={{ width: 150 }} prefix="¥" inputMode="decimal" />
                      </Form.Item>
                      <Form.Item name={[item.name, 'taxRate']} label={t('invoice.taxRate')} rules={[lineRule(i, 'taxRate', t('invoice.taxRate'))]}>
                        <Input aria-label={t('invoiceForm.field', { n: i + 1, field: t('invoice.taxRate') })} style={{ width: 80 }} suffix="%" inputMode="decimal" />
                      </Form.Item>
                      <Form.Item
                        name={[item.name, 'taxAmount']}
                        label={t('invoiceForm.taxAmount')}
                        extra={c && !lines[i]?.taxAmount?.trim() ? `= ¥${formatFen(c.tax)}` : undefined}
                        rules={[lineRule(i, 'taxAmount', t('invoiceForm.taxAmount'))]}
                        dependencies={[['lines', item.name, 'amount'], ['lines', item.name, 'taxRate'], ['lines', item.name, 'quantity'], ['lines', item.name, 'unitPrice']]}
                      >
                        <Input aria-label={t('invoiceForm.field', { n: i + 1, field: t('invoiceForm.taxAmount') })} style={{ width: 130 }} prefix="¥" inputMode="decimal" />
                      </Form.Item>
                    </Space>
                  </Card>
                );
              })}
              <Button icon={<PlusOutlined />} onClick={() => add({ taxRate: '13' })} style={{ marginBottom: 16 }} disabled={items.length >= 100}>
                {t('invoiceForm.addLine')}
              </Button>
            </>
          )}
        </Form.List>
        <Alert
          type={checked.some((c) => c.problems.length > 0) ? 'warning' : 'info'}
          showIcon
          data-testid="invoice-totals"
          style={{ marginBottom: 16 }}
          message={t('invoiceForm.totals', {
            amount: formatFen(totals.totalAmount),
            tax: formatFen(totals.totalTax),
            withTax: formatFen(totals.totalWithTax),
          })}
          description={checked.some((c) => c.problems.length > 0) ? t('invoiceForm.fixLines') : t('invoiceForm.totalsHelp')}
        />
        <Space wrap align="start">
          <Form.Item name="issuer" label={t('invoiceForm.issuer')} rules={[req(t('invoiceForm.issuer'))]}>
            <Input aria-label={t('invoiceForm.issuer')} style={{ width: 160 }} />
          </Form.Item>
          <Form.Item name="remarks" label={t('invoiceForm.remarks')}>
            <Input aria-label={t('invoiceForm.remarks')} style={{ width: 420 }} />
          </Form.Item>
        </Space>
        <Button type="primary" htmlType="submit" loading={busy !== null} disabled={totals.totalWithTax === 0n || checked.some((c) => c.problems.length > 0)}>
          {t('invoiceForm.submit')}
        </Button>
      </Form>
      <TxOutcomeView outcome={last} />
    </>
  );
}
