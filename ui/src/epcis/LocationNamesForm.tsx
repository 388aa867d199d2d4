import { Button, Form, Input, Typography } from 'antd';

import { DescribeLocationsDocument } from '../api/generated';
import { useGql } from '../api/hooks';
import { useI18n } from '../i18n/I18nProvider';
import { TxOutcomeView } from '../portal/actions/ActionForm';
import { useTx } from '../portal/useTx';

interface Values {
  id: string;
  name: string;
  address?: string;
}

/** An SGLN (`urn:epc:id:sgln:prefix.location.extension`) or PGLN (`urn:epc:id:pgln:prefix.party`) EPC URI:
 * company prefix and reference together 12 digits, as the chain parses them. */
export function isGlnUri(s: string): boolean {
  const m = /^urn:epc:id:sgln:(\d{6,12})\.(\d{0,6})\.[!%-?A-Z_a-z]{1,20}$/.exec(s) ?? /^urn:epc:id:pgln:(\d{6,12})\.(\d{0,6})$/.exec(s);
  const [, prefix = '', reference = ''] = m ?? [];
  return m !== null && prefix.length + reference.length === 12;
}

/**
 * A recorder names one of its locations or parties (GLN master data, on chain): the consumer page then
 * shows the name instead of the raw identifier. The chain refuses a location another organisation named.
 */
export function LocationNamesForm() {
  const { t } = useI18n();
  const gql = useGql();
  const { run, busy, last } = useTx();
  const [form] = Form.useForm<Values>();
  const submit = async (v: Values) => {
    const address = v.address?.trim() ? v.address.trim() : null;
    const r = await run(t('locations.submit'), () => gql(DescribeLocationsDocument, { locations: [{ id: v.id.trim(), name: v.name.trim(), address }] }));
    if (r) form.resetFields();
  };
  return (
    <section aria-labelledby="locations-title" style={{ marginTop: 32, maxWidth: 900 }}>
      <Typography.Title id="locations-title" level={3}>
        {t('locations.title')}
      </Typography.Title>
      <Typography.Paragraph type="secondary">{t('locations.help')}</Typography.Paragraph>
      <Form<Values> form={form} layout="vertical" aria-label={t('locations.title')} onFinish={(v) => void submit(v)}>
        <Form.Item
          name="id"
          label={t('locations.id')}
          rules={[{ validator: async (_, v: string | undefined) => { if (!isGlnUri((v ?? '').trim())) throw new Error(t('locations.invalid')); } }]}
        >
          <Input maxLength={80} placeholder="urn:epc:id:sgln:6901234.00002.0" />
        </Form.Item>
        <Form.Item name="name" label={t('locations.name')} rules={[{ required: true, whitespace: true, max: 100, message: t('login.required', { field: t('locations.name') }) }]}>
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item name="address" label={t('locations.address')} rules={[{ max: 200 }]}>
          <Input maxLength={200} />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={busy !== null}>
          {t('locations.submit')}
        </Button>
      </Form>
      <TxOutcomeView outcome={last} />
    </section>
  );
}
