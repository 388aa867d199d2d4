import { Alert, Button, Descriptions, Form, Select, Space, Typography } from 'antd';
import { useState } from 'react';

import { IssueInvoiceUblDocument } from '../../api/generated';
import { useGql } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { TxOutcomeView } from '../actions/ActionForm';
import { useOrgs } from '../OrgDirectory';
import { useTx } from '../useTx';

/** Largest document the chain accepts (domain/src/ubl.rs `MAX_UBL_BYTES`). */
const MAX_UBL_BYTES = 200 * 1024;

interface Picked {
  name: string;
  xml: string;
  number: string | null;
  issueDate: string | null;
  payable: string | null;
}

/** What the browser can read of a UBL invoice before sending it: BT-1, BT-2 and the payable amount. */
export function previewUbl(xml: string): { number: string | null; issueDate: string | null; payable: string | null } | null {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length > 0 || doc.documentElement.localName !== 'Invoice') return null;
  const direct = (local: string) => [...doc.documentElement.children].find((c) => c.localName === local)?.textContent?.trim() ?? null;
  const lmt = [...doc.documentElement.children].find((c) => c.localName === 'LegalMonetaryTotal');
  const payable = lmt ? ([...lmt.children].find((c) => c.localName === 'PayableAmount')?.textContent?.trim() ?? null) : null;
  return { number: direct('ID'), issueDate: direct('IssueDate'), payable };
}

/**
 * The seller uploads a UBL 2.1 / EN 16931 invoice; the chain parses it and refuses it with the element
 * path of the first problem, which the failure message shows.
 */
export function UblUpload() {
  const { t } = useI18n();
  const gql = useGql();
  const orgs = useOrgs();
  const { session } = useSession();
  const { run, busy, last } = useTx();
  const [picked, setPicked] = useState<Picked | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [buyerOrg, setBuyerOrg] = useState<string | undefined>(undefined);
  const onFile = async (file: File | undefined) => {
    setPicked(null);
    setProblem(null);
    if (!file) return;
    if (file.size > MAX_UBL_BYTES) {
      setProblem(t('ubl.tooLarge', { size: file.size, limit: MAX_UBL_BYTES }));
      return;
    }
    const xml = await file.text();
    const p = previewUbl(xml);
    if (!p) {
      setProblem(t('ubl.notUbl'));
      return;
    }
    setPicked({ name: file.name, xml, ...p });
  };
  return (
    <section aria-label={t('ubl.title')} style={{ maxWidth: 720 }}>
      <Typography.Paragraph type="secondary">{t('ubl.help')}</Typography.Paragraph>
      <Form layout="vertical" aria-label={t('ubl.title')} onFinish={() => picked && void run(t('ubl.submit'), () => gql(IssueInvoiceUblDocument, { xml: picked.xml, buyerOrg: buyerOrg ?? null }))}>
        <Form.Item label={t('ubl.file')} required>
          <input type="file" accept=".xml,application/xml,text/xml" aria-label={t('ubl.file')} onChange={(e) => void onFile(e.target.files?.[0])} />
        </Form.Item>
        {problem && <Alert type="error" showIcon message={t('form.fieldError', { field: t('ubl.file'), reason: problem })} style={{ marginBottom: 16 }} />}
        {picked && (
          <section aria-label={t('ubl.preview')}>
          <Descriptions size="small" column={1} bordered style={{ marginBottom: 16 }}>
            <Descriptions.Item label={t('ubl.file')}>{picked.name}</Descriptions.Item>
            <Descriptions.Item label={t('invoice.number')}>{picked.number ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('invoice.issueDate')}>{picked.issueDate ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('invoice.totalWithTax')}>{picked.payable ?? '—'}</Descriptions.Item>
          </Descriptions>
          </section>
        )}
        <Form.Item label={t('invoiceForm.buyerOrg')} extra={t('invoiceForm.buyerOrgHelp')}>
          <Select
            allowClear
            showSearch
            optionFilterProp="label"
            aria-label={`${t('ubl.title')} ${t('invoiceForm.buyerOrg')}`}
            value={buyerOrg}
            onChange={(v: string | undefined) => setBuyerOrg(v)}
            options={orgs.orgs.filter((o) => o.id !== session?.organisation.id).map((o) => ({ value: o.id, label: o.name }))}
          />
        </Form.Item>
        <Space>
          <Button type="primary" htmlType="submit" disabled={!picked} loading={busy !== null}>
            {t('ubl.submit')}
          </Button>
        </Space>
      </Form>
      <TxOutcomeView outcome={last} />
    </section>
  );
}
