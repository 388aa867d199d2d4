import { Table, Tag, type TableColumnsType } from 'antd';
import { Link } from 'react-router-dom';

import { MyEventsDocument, MyTasksDocument, type MyTasksQuery } from '../api/generated';
import { useQuery, useSubscription } from '../api/hooks';
import { formatTime } from '../explorer/format';
import { useI18n } from '../i18n/I18nProvider';
import { Money } from './Money';
import { QueryView } from './QueryView';
import { isStepCall } from './workflow/steps';
import { StepButtons } from './workflow/WorkflowPanel';

type Task = MyTasksQuery['myTasks'][number];

/** Workflow steps waiting for the caller's organisation (financing, pledges, margin calls, maturities). */
export function MyTasks({ label }: { label: string }) {
  const { t, locale } = useI18n();
  const query = useQuery(MyTasksDocument, {});
  useSubscription(MyEventsDocument, {}, (e) => {
    if (e.myEvents.module === 'workflow' || e.myEvents.module === 'voucher') query.refetch();
  });
  const columns: TableColumnsType<Task> = [
    { title: t('tasks.process'), dataIndex: 'processTitle' },
    { title: t('financing.id'), dataIndex: 'instanceId' },
    {
      title: t('tasks.subject'),
      dataIndex: 'subject',
      render: (s: string, task) => (task.process === 'financing' || task.process === 'maturity' ? <Link to={`/vouchers/${encodeURIComponent(s)}`}>{s}</Link> : s),
    },
    { title: t('tasks.state'), dataIndex: 'state', render: (s: string) => <Tag>{s}</Tag> },
    {
      title: t('tasks.actions'),
      key: 'actions',
      render: (_, task) => {
        const calls = task.actions.filter(isStepCall);
        const others = task.actions.filter((a) => !isStepCall(a));
        return (
          <>
            {task.canAct && calls.length > 0 && (
              <StepButtons calls={calls} ctx={{ id: task.instanceId, subject: task.subject, amount: task.amount, data: {} }} onDone={query.refetch} />
            )}
            {(task.canAct ? others : task.actions).map((x) => (
              <Tag key={x} color="blue">
                {x}
              </Tag>
            ))}
          </>
        );
      },
    },
    { title: t('voucher.amount'), key: 'amount', align: 'right', render: (_, task) => (task.amount === null ? t('terms.sealedHidden') : <Money fen={task.amount} currency={task.currency} />) },
    {
      title: t('financing.deadline'),
      key: 'deadline',
      render: (_, task) =>
        task.deadlineMs === null ? '—' : <span style={{ color: task.overdue ? '#cf1322' : undefined }}>{formatTime(task.deadlineMs, locale)}{task.overdue ? ` · ${t('tasks.overdue')}` : ''}</span>,
    },
  ];
  return (
    <QueryView query={query}>
      {(d) => (
        <Table<Task>
          rowKey={(x) => `${x.instanceId}/${x.party}`}
          size="middle"
          columns={columns}
          dataSource={d.myTasks}
          loading={query.loading}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('tasks.none') }}
          aria-label={label}
        />
      )}
    </QueryView>
  );
}
