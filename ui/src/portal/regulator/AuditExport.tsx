import { DownloadOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Form, Input, Progress, Space, Typography } from 'antd';
import { useState } from 'react';

import { BlockTransactionsDocument, ChainHeightDocument, type BlockTransactionsQuery } from '../../api/generated';
import { useGql, useQuery } from '../../api/hooks';
import { describeError } from '../../api/errors';
import { useI18n } from '../../i18n/I18nProvider';
import { downloadCsv } from '../exportCsv';

/** Most blocks one export reads (one request per block). */
export const MAX_EXPORT_BLOCKS = 2000;

export const AUDIT_HEADER = ['height', 'blockTimeMs', 'txId', 'txIndex', 'sender', 'module', 'outcome', 'errorCode', 'event', 'attributes'] as const;

type Block = BlockTransactionsQuery['block'];

/**
 * CSV rows of the blocks' transactions and their events, one row per event (a transaction without events,
 * such as a refused one, gets one row). With `org`, only transactions an event of which names it.
 */
export function auditRows(blocks: Block[], org: string): (string | number)[][] {
  const rows: (string | number)[][] = [];
  for (const b of blocks) {
    for (const tx of b.transactions) {
      const names = (e: (typeof tx.events)[number]) => e.attributes.some((a) => a.value === org || a.value.split(/[|,]/).includes(org));
      if (org && !tx.events.some(names)) continue;
      const base = [b.height, b.timeMs, tx.id, tx.index, tx.sender ?? '', tx.module ?? '', tx.outcome, tx.errorCode ?? ''];
      if (tx.events.length === 0) rows.push([...base, '', '']);
      for (const e of tx.events) rows.push([...base, e.kind, e.attributes.map((a) => `${a.name}=${a.value}`).join('; ')]);
    }
  }
  return rows;
}

/** The regulator's audit export: every transaction and event in a height range, optionally about one organisation, as a CSV file. */
export function AuditExport() {
  const { t } = useI18n();
  const gql = useGql();
  const chain = useQuery(ChainHeightDocument, {});
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [summary, setSummary] = useState<string | null>(null);
  const height = chain.data?.chainStatus.height ?? 0;
  const run = async (v: { from: string; to: string; org?: string }) => {
    setError(null);
    setSummary(null);
    const from = Number(v.from);
    const to = Number(v.to);
    const blocks: Block[] = [];
    setProgress({ done: 0, total: to - from + 1 });
    try {
      for (let h = from; h <= to; h++) {
        blocks.push((await gql(BlockTransactionsDocument, { height: h })).block);
        setProgress({ done: h - from + 1, total: to - from + 1 });
      }
      const org = (v.org ?? '').trim();
      const rows = auditRows(blocks, org);
      downloadCsv(`audit-${org || 'all'}-${from}-${to}`, AUDIT_HEADER, rows);
      setSummary(t('auditExport.done', { rows: rows.length, from, to }));
    } catch (e) {
      setError(describeError(e, t));
    } finally {
      setProgress(null);
    }
  };
  const intRule = (label: string) => ({
    validator: (_: unknown, value?: string) => {
      const n = Number(value);
      return value && (!/^\d+$/.test(value) || n < 1 || n > height) ? Promise.reject(new Error(t('form.fieldError', { field: label, reason: t('valid.int', { min: 1, max: height }) }))) : Promise.resolve();
    },
  });
  return (
    <Card size="small" title={t('auditExport.title')}>
      <Typography.Paragraph type="secondary">{t('auditExport.help', { max: MAX_EXPORT_BLOCKS })}</Typography.Paragraph>
      {chain.data && (
        <Form
          layout="inline"
          aria-label={t('auditExport.title')}
          requiredMark={false}
          initialValues={{ from: String(Math.max(1, height - 199)), to: String(height) }}
          onFinish={(v: { from: string; to: string; org?: string }) => void run(v)}
        >
          <Form.Item name="from" label={t('auditExport.from')} rules={[{ required: true, message: t('form.required', { field: t('auditExport.from') }) }, intRule(t('auditExport.from'))]}>
            <Input aria-label={t('auditExport.from')} style={{ width: 110 }} inputMode="numeric" />
          </Form.Item>
          <Form.Item
            name="to"
            label={t('auditExport.to')}
            dependencies={['from']}
            rules={[
              { required: true, message: t('form.required', { field: t('auditExport.to') }) },
              intRule(t('auditExport.to')),
              ({ getFieldValue }) => ({
                validator: (_: unknown, value?: string) => {
                  const span = Number(value) - Number(getFieldValue('from'));
                  return span < 0 || span >= MAX_EXPORT_BLOCKS ? Promise.reject(new Error(t('form.fieldError', { field: t('auditExport.to'), reason: t('auditExport.range', { max: MAX_EXPORT_BLOCKS }) }))) : Promise.resolve();
                },
              }),
            ]}
          >
            <Input aria-label={t('auditExport.to')} style={{ width: 110 }} inputMode="numeric" />
          </Form.Item>
          <Form.Item name="org" label={t('auditExport.org')}>
            <Input aria-label={t('auditExport.org')} style={{ width: 140 }} placeholder="HLBRAKE" />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" icon={<DownloadOutlined />} loading={progress !== null}>
              {t('auditExport.submit')}
            </Button>
          </Space>
        </Form>
      )}
      {progress && <Progress percent={Math.floor((progress.done * 100) / Math.max(1, progress.total))} size="small" style={{ marginTop: 12 }} />}
      {summary && <Alert type="success" showIcon style={{ marginTop: 12 }} message={summary} data-testid="audit-export-done" />}
      {error && <Alert type="error" showIcon style={{ marginTop: 12 }} message={error} />}
    </Card>
  );
}
