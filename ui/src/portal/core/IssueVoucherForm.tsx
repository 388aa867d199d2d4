import { Alert, Button, Checkbox, DatePicker, Form, Input, Select } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { useNavigate } from 'react-router-dom';

import { InvoicesDocument, IssueVoucherDocument } from '../../api/generated';
import { useGql, useQuery } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { formatFen, MAX_API_FEN, parseYuan, toApiFen } from '../../money/fen';
import { useOrgs } from '../OrgDirectory';
import { useTx } from '../useTx';

interface Values {
  voucherNo: string;
  to: string;
  amount: string;
  dueDate: Dayjs;
  contractRef: string;
  invoices: string[];
  allowOverSixMonths: boolean;
}

/** Core enterprise issues a voucher to a tier-1 supplier against invoices it booked as buyer. */
export function IssueVoucherForm() {
  const { t } = useI18n();
  const orgs = useOrgs();
  const gql = useGql();
  const navigate = useNavigate();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  const { run, busy } = useTx();
  const invoices = useQuery(InvoicesDocument, { first: 100 });
  const mine = (invoices.data?.invoices.nodes ?? []).filter((i) => i.buyerOrg === me);
  const [picked, setPicked] = useState<string[]>([]);
  const available = mine
    .filter((i) => picked.includes(i.number))
    .reduce((s, i) => s + BigInt(i.totalWithTax) - BigInt(i.reversed) - BigInt(i.financed), 0n);
  const submit = async (v: Values) => {
    const amount = parseYuan(v.amount)!;
    const r = await run(t('core.issue'), () =>
      gql(IssueVoucherDocument, {
        input: {
          voucherNo: v.voucherNo.trim(),
          to: v.to,
          amount: toApiFen(amount),
          currency: 'CNY',
          dueDate: v.dueDate.format('YYYY-MM-DD'),
          contractRef: v.contractRef.trim(),
          invoices: v.invoices,
          allowOverSixMonths: v.allowOverSixMonths ?? false,
        },
      }),
    );
    if (r) navigate(`/vouchers/${encodeURIComponent(v.voucherNo.trim())}`);
  };
  return (
    <Form<Values> layout="vertical" onFinish={submit} style={{ maxWidth: 640 }} aria-label={t('core.issue')} requiredMark={false}>
      <Form.Item
        name="voucherNo"
        label={t('core.voucherNo')}
        rules={[
          { required: true, message: t('form.required', { field: t('core.voucherNo') }) },
          { pattern: /^[A-Z0-9_-]{1,40}$/, message: t('core.voucherNoRule') },
        ]}
      >
        <Input placeholder="HSY-2026-0005" />
      </Form.Item>
      <Form.Item name="to" label={t('core.to')} rules={[{ required: true, message: t('form.required', { field: t('core.to') }) }]}>
        <Select
          showSearch
          optionFilterProp="label"
          aria-label={t('core.to')}
          options={orgs.orgs.filter((o) => o.roles.includes('supplier')).map((o) => ({ value: o.id, label: o.name }))}
        />
      </Form.Item>
      <Form.Item name="invoices" label={t('core.invoices')} rules={[{ required: true, message: t('form.required', { field: t('core.invoices') }) }]}>
        <Select
          mode="multiple"
          aria-label={t('core.invoices')}
          loading={invoices.loading}
          onChange={(v: string[]) => setPicked(v)}
          options={mine.map((i) => ({ value: i.number, label: `${i.number} · ${i.seller.name} · ¥${formatFen(i.totalWithTax)}` }))}
        />
      </Form.Item>
      {picked.length > 0 && <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('core.available', { amount: formatFen(available) })} />}
      <Form.Item
        name="amount"
        label={t('core.amountYuan')}
        rules={[
          { required: true, message: t('form.required', { field: t('core.amountYuan') }) },
          {
            validator: (_, value: string | undefined) => {
              if (!value) return Promise.resolve();
              const fen = parseYuan(value);
              if (fen === null || fen === 0n || fen > MAX_API_FEN) return Promise.reject(new Error(t('form.amount')));
              if (picked.length > 0 && fen > available) return Promise.reject(new Error(t('core.overInvoices', { amount: formatFen(available) })));
              return Promise.resolve();
            },
          },
        ]}
      >
        <Input prefix="¥" inputMode="decimal" />
      </Form.Item>
      <Form.Item name="dueDate" label={t('core.dueDate')} rules={[{ required: true, message: t('form.required', { field: t('core.dueDate') }) }]}>
        <DatePicker aria-label={t('core.dueDate')} />
      </Form.Item>
      <Form.Item name="contractRef" label={t('core.contractRef')} rules={[{ required: true, whitespace: true, message: t('form.required', { field: t('core.contractRef') }) }]}>
        <Input />
      </Form.Item>
      <Form.Item name="allowOverSixMonths" valuePropName="checked">
        <Checkbox>{t('core.allowOverSixMonths')}</Checkbox>
      </Form.Item>
      <Button type="primary" htmlType="submit" loading={busy !== null}>
        {t('core.issue')}
      </Button>
    </Form>
  );
}
