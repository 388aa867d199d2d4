import { Badge, Flex, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router-dom';

import { MyEventsDocument, type MyEventsSubscription } from '../api/generated';
import { useSubscription } from '../api/hooks';
import { useI18n } from '../i18n/I18nProvider';
import { downloadCsv } from './exportCsv';
import { Button } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';

type ChainEvent = MyEventsSubscription['myEvents'];

const KEEP = 500;

/**
 * Chain events as they are indexed (for the regulator: every event), newest first. The full history is
 * in the explorer; this is the live trail with an export.
 */
export function AuditTrail() {
  const { t } = useI18n();
  const [events, setEvents] = useState<ChainEvent[]>([]);
  useSubscription(MyEventsDocument, {}, (d) => setEvents((es) => [d.myEvents, ...es.filter((e) => e.id !== d.myEvents.id)].slice(0, KEEP)));
  const columns: TableColumnsType<ChainEvent> = [
    { title: t('explorer.height'), dataIndex: 'height', render: (h: number) => <Link to={`/explorer/blocks/${h}`}>#{h}</Link> },
    { title: t('audit.module'), dataIndex: 'module', render: (m: string) => <Tag>{m}</Tag> },
    { title: t('audit.kind'), dataIndex: 'kind' },
    {
      title: t('audit.attributes'),
      key: 'attrs',
      render: (_, e) => (
        <Typography.Text style={{ fontSize: 12 }}>
          {e.attributes.map((a) => `${a.name}=${a.value}`).join(' · ')}
        </Typography.Text>
      ),
    },
    { title: t('explorer.tx'), dataIndex: 'txId', render: (id: string) => <Link to={`/explorer/tx/${id}`}>{id.slice(0, 12)}…</Link>, responsive: ['md'] },
  ];
  return (
    <section aria-label={t('audit.title')}>
      <Flex justify="space-between" align="center" wrap gap={8} style={{ marginBottom: 12 }}>
        <span aria-live="polite">
          <Badge status="processing" text={t('audit.live', { count: events.length })} />
        </span>
        <Button
          icon={<DownloadOutlined />}
          disabled={events.length === 0}
          onClick={() =>
            downloadCsv(
              'audit-trail',
              ['height', 'txId', 'module', 'kind', 'attributes', 'data'],
              events.map((e) => [e.height, e.txId, e.module, e.kind, e.attributes.map((a) => `${a.name}=${a.value}`).join(';'), e.data]),
            )
          }
        >
          {t('action.exportCsv')}
        </Button>
      </Flex>
      <Table<ChainEvent>
        rowKey="id"
        size="small"
        columns={columns}
        dataSource={events}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: t('audit.waiting') }}
        aria-label={t('audit.title')}
      />
    </section>
  );
}
