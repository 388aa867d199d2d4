import { DownloadOutlined } from '@ant-design/icons';
import { Button, Flex, Table, Tag, type TableColumnsType } from 'antd';
import { Link } from 'react-router-dom';

import { MyEventsDocument, WorkflowAuditDocument, type WorkflowAuditQuery } from '../api/generated';
import { useQuery, useSubscription } from '../api/hooks';
import { formatTime } from '../explorer/format';
import { useI18n } from '../i18n/I18nProvider';
import { downloadCsv } from './exportCsv';
import { useOrgs } from './OrgDirectory';
import { QueryView } from './QueryView';

type Entry = WorkflowAuditQuery['workflowAudit'][number];

/** Who did what in every workflow, when and in which transaction (newest first), with CSV export. */
export function WorkflowAuditTable() {
  const { t, locale } = useI18n();
  const orgs = useOrgs();
  const query = useQuery(WorkflowAuditDocument, {});
  useSubscription(MyEventsDocument, {}, (e) => {
    if (e.myEvents.module === 'workflow') query.refetch();
  });
  const rows = [...(query.data?.workflowAudit ?? [])].sort((a, b) => b.height - a.height || b.eventId.localeCompare(a.eventId));
  const columns: TableColumnsType<Entry> = [
    { title: t('explorer.time'), dataIndex: 'timeMs', render: (ms: number) => formatTime(ms, locale) },
    { title: t('tasks.process'), dataIndex: 'process', render: (p: string) => <Tag>{p}</Tag> },
    { title: t('tasks.subject'), dataIndex: 'subject' },
    { title: t('audit.action'), dataIndex: 'action' },
    { title: t('audit.actor'), dataIndex: 'actorOrg', render: (o: string) => orgs.name(o) },
    { title: t('tasks.state'), dataIndex: 'state' },
    { title: t('explorer.tx'), dataIndex: 'txId', render: (id: string, e) => <Link to={`/explorer/tx/${id}`}>#{e.height}</Link> },
  ];
  return (
    <section aria-label={t('audit.workflow')}>
      <Flex justify="flex-end" style={{ marginBottom: 12 }}>
        <Button
          icon={<DownloadOutlined />}
          disabled={rows.length === 0}
          onClick={() =>
            downloadCsv(
              'workflow-audit',
              ['timeMs', 'height', 'txId', 'instanceId', 'process', 'subject', 'kind', 'action', 'actorOrg', 'state'],
              rows.map((e) => [e.timeMs, e.height, e.txId, e.instanceId, e.process, e.subject, e.kind, e.action, e.actorOrg, e.state]),
            )
          }
        >
          {t('action.exportCsv')}
        </Button>
      </Flex>
      <QueryView query={query}>
        {() => (
          <Table<Entry>
            rowKey="eventId"
            size="small"
            columns={columns}
            dataSource={rows}
            loading={query.loading}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: t('state.empty') }}
            aria-label={t('audit.workflow')}
          />
        )}
      </QueryView>
    </section>
  );
}
