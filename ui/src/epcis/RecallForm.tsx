import { Alert, Button, Form, Input, Typography } from 'antd';
import { useState } from 'react';

import { RecallLotDocument } from '../api/generated';
import { useGql } from '../api/hooks';
import { useI18n } from '../i18n/I18nProvider';
import { TxOutcomeView } from '../portal/actions/ActionForm';
import { useTx } from '../portal/useTx';
import { isValidGtin14, isValidLot, lotPath } from '../scan/digitalLink';

interface Values {
  gtin: string;
  lot: string;
  reason: string;
}

/**
 * The brand owner (the organisation that commissioned the lot on chain) or the regulator recalls a lot.
 * The chain decides who the brand owner is; the form checks the GS1 key first and names the field.
 */
export function RecallForm() {
  const { t } = useI18n();
  const gql = useGql();
  const { run, busy, last } = useTx();
  const [done, setDone] = useState<{ gtin: string; lot: string } | null>(null);
  const submit = async (v: Values) => {
    setDone(null);
    const r = await run(t('recall.submit'), () => gql(RecallLotDocument, { gtin: v.gtin.trim(), lot: v.lot.trim(), reason: v.reason.trim() }));
    if (r) setDone({ gtin: v.gtin.trim(), lot: v.lot.trim() });
  };
  return (
    <section aria-labelledby="recall-title" style={{ marginTop: 32, maxWidth: 900 }}>
      <Typography.Title id="recall-title" level={3}>
        {t('recall.title')}
      </Typography.Title>
      <Typography.Paragraph type="secondary">{t('recall.help')}</Typography.Paragraph>
      <Form<Values> layout="vertical" aria-label={t('recall.title')} onFinish={(v) => void submit(v)}>
        <Form.Item
          name="gtin"
          label={t('recall.gtin')}
          rules={[{ validator: async (_, v: string | undefined) => { if (!isValidGtin14((v ?? '').trim())) throw new Error(t('scan.invalid.gtin')); } }]}
        >
          <Input inputMode="numeric" maxLength={14} />
        </Form.Item>
        <Form.Item
          name="lot"
          label={t('recall.lot')}
          rules={[{ validator: async (_, v: string | undefined) => { if (!isValidLot((v ?? '').trim())) throw new Error(t('scan.invalid.lot')); } }]}
        >
          <Input maxLength={20} />
        </Form.Item>
        <Form.Item name="reason" label={t('recall.reason')} rules={[{ required: true, whitespace: true, max: 500, message: t('login.required', { field: t('recall.reason') }) }]}>
          <Input.TextArea rows={3} maxLength={500} showCount />
        </Form.Item>
        <Button danger type="primary" htmlType="submit" loading={busy !== null}>
          {t('recall.submit')}
        </Button>
      </Form>
      <TxOutcomeView outcome={last} />
      {done && (
        <Alert
          type="warning"
          showIcon
          style={{ marginTop: 12 }}
          message={t('recall.done')}
          description={<a href={lotPath(done.gtin, done.lot)}>{t('recall.consumerPage')}</a>}
        />
      )}
    </section>
  );
}
