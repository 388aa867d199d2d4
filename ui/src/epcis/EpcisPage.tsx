import { Alert, Button, Form, Input, Table, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router-dom';

import { CaptureEpcisDocument, type CaptureEpcisMutation } from '../api/generated';
import { useGql } from '../api/hooks';
import { useSession } from '../auth/SessionProvider';
import { useI18n } from '../i18n/I18nProvider';
import { TxOutcomeView } from '../portal/actions/ActionForm';
import { useTx } from '../portal/useTx';
import { EVENTS_PER_TX, readEpcis, type EventSummary } from './epcisDoc';
import { LocationNamesForm } from './LocationNamesForm';
import { RecallForm } from './RecallForm';

interface Row extends EventSummary {
  hash: string;
  height: number;
  txId: string;
}

/**
 * Any recorder (brand owner, producer, carrier, retailer, warehouse) anchors an EPCIS 2.0 document: each
 * event's CBV 2.0 hash goes on chain as the organisation, and the page lists every hash with its block.
 */
export function EpcisPage() {
  const { t } = useI18n();
  const gql = useGql();
  const { session } = useSession();
  const { run, busy, last } = useTx();
  const [text, setText] = useState('');
  const [rows, setRows] = useState<Row[] | null>(null);
  const read = text.trim() ? readEpcis(text) : null;
  const submit = async () => {
    if (!read?.ok) return;
    const r = await run(t('epcis.submit'), () => gql(CaptureEpcisDocument, { document: text }));
    if (r) setRows(rowsOf(read.events, r));
  };
  return (
    <section aria-labelledby="epcis-title">
      <Typography.Title id="epcis-title" level={2}>
        {t('epcis.title')}
      </Typography.Title>
      <Typography.Paragraph type="secondary">{t('epcis.help', { org: session?.organisation.name ?? '' })}</Typography.Paragraph>
      <Form layout="vertical" aria-label={t('epcis.title')} onFinish={() => void submit()} style={{ maxWidth: 900 }}>
        <Form.Item label={t('epcis.file')}>
          <input
            type="file"
            accept=".json,.jsonld,application/ld+json,application/json"
            aria-label={t('epcis.file')}
            onChange={async (e) => {
              const f = e.target.files?.[0];
              if (!f) return;
              setRows(null);
              setText(await f.text());
            }}
          />
        </Form.Item>
        <Form.Item label={t('epcis.document')}>
          <Input.TextArea
            aria-label={t('epcis.document')}
            rows={10}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setRows(null);
            }}
            style={{ fontFamily: 'monospace', fontSize: 12 }}
            spellCheck={false}
          />
        </Form.Item>
        {read && !read.ok && <Alert type="error" showIcon style={{ marginBottom: 16 }} message={t('epcis.problem', { path: read.path, reason: read.reason })} />}
        {read?.ok && <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('epcis.ready', { n: read.events.length, txs: Math.ceil(read.events.length / EVENTS_PER_TX) })} />}
        <Button type="primary" htmlType="submit" disabled={!read?.ok} loading={busy !== null}>
          {t('epcis.submit')}
        </Button>
      </Form>
      <TxOutcomeView outcome={last} />
      {rows && (
        <Table<Row>
          style={{ marginTop: 16 }}
          rowKey="index"
          size="small"
          aria-label={t('epcis.anchored')}
          pagination={{ pageSize: 50, hideOnSinglePage: true }}
          scroll={{ x: 'max-content' }}
          dataSource={rows}
          columns={[
            { title: '#', dataIndex: 'index', render: (i: number) => i + 1 },
            { title: t('epcis.type'), dataIndex: 'type' },
            { title: t('epcis.bizStep'), dataIndex: 'bizStep', render: (b: string | null) => b ?? '—' },
            { title: t('epcis.eventTime'), dataIndex: 'eventTime' },
            { title: t('epcis.hash'), dataIndex: 'hash', render: (h: string) => <Typography.Text code copyable style={{ fontSize: 12 }}>{h}</Typography.Text> },
            { title: t('explorer.height'), dataIndex: 'height', render: (h: number) => <Link to={`/explorer/blocks/${h}`}>#{h}</Link> },
            { title: t('tx.txId'), dataIndex: 'txId', render: (id: string) => <Link to={`/explorer/tx/${id}`}>{`${id.slice(0, 12)}…`}</Link> },
          ]}
        />
      )}
      <LocationNamesForm />
      <RecallForm />
    </section>
  );
}

/** Hash i of the answer belongs to the transaction of batch ⌊i / 64⌋ (the server anchors batches in order). */
export function rowsOf(events: EventSummary[], r: CaptureEpcisMutation): Row[] {
  const { hashes, transactions } = r.captureEpcis;
  return hashes.map((hash, i) => {
    const tx = transactions[Math.min(Math.floor(i / EVENTS_PER_TX), transactions.length - 1)];
    const e = events[i] ?? { index: i, type: '', eventTime: '', bizStep: null };
    return { ...e, index: i, hash, height: tx?.height ?? 0, txId: tx?.txId ?? '' };
  });
}
