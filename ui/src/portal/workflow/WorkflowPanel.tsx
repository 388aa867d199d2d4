import { Button, Card, Descriptions, Flex, Input, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';

import { MyEventsDocument, MyTasksDocument, PledgeInstanceDocument } from '../../api/generated';
import { useGql, useQuery, useSubscription } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import { formatTime } from '../../explorer/format';
import { useI18n } from '../../i18n/I18nProvider';
import { ActionModal } from '../actions/ActionForm';
import { Money } from '../Money';
import { useOrgs } from '../OrgDirectory';
import { QueryView } from '../QueryView';
import { isStepCall, marginCallSeqOf, openMarginCallSeq, stepFields, submitStep, type StepCall, type StepContext } from './steps';

function parseData(s: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(s);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Buttons for workflow calls; each opens the call's form and reports the block it landed in. */
export function StepButtons({ calls, ctx, onDone }: { calls: StepCall[]; ctx: StepContext; onDone?: () => void }) {
  const { t } = useI18n();
  const gql = useGql();
  const { session } = useSession();
  const [open, setOpen] = useState<StepCall | null>(null);
  if (session?.user.role === 'viewer') return null;
  return (
    <>
      <Flex gap={4} wrap>
        {calls.map((c) => (
          <Button key={c} size="small" danger={c.startsWith('Reject') || c === 'OpenMarginCall'} aria-label={`${t(`step.${c}`)} ${ctx.id}`} onClick={() => setOpen(c)}>
            {t(`step.${c}`)}
          </Button>
        ))}
      </Flex>
      {open && (
        <ActionModal
          title={`${t(`step.${open}`)} · ${ctx.id}`}
          fields={stepFields(open, ctx, t)}
          onClose={() => setOpen(null)}
          onDone={() => onDone?.()}
          submit={(v) => submitStep(gql, open, ctx, v)}
        />
      )}
    </>
  );
}

/**
 * One workflow instance (financing, pledge with its margin calls) by application id: where it stands, who
 * it waits for, and the calls the process table allows now.
 */
export function WorkflowPanel() {
  const { t } = useI18n();
  // The open application is in the URL (`&app=`), so it can be linked and survives a reload.
  const [params, setParams] = useSearchParams();
  const id = params.get('app') ?? '';
  const [typed, setTyped] = useState(id);
  const setId = (v: string) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (v) next.set('app', v);
        else next.delete('app');
        return next;
      },
      { replace: true },
    );
  return (
    <section aria-label={t('workflow.lookup')}>
      <Space.Compact style={{ maxWidth: 480, width: '100%', marginBottom: 16 }}>
        <Input aria-label={t('workflow.applicationId')} placeholder={t('workflow.applicationId')} value={typed} onChange={(e) => setTyped(e.target.value)} onPressEnter={() => setId(typed.trim())} />
        <Button type="primary" onClick={() => setId(typed.trim())}>
          {t('workflow.open')}
        </Button>
      </Space.Compact>
      {id && <InstanceCard id={id} />}
    </section>
  );
}

function InstanceCard({ id }: { id: string }) {
  const { t, locale } = useI18n();
  const orgs = useOrgs();
  const query = useQuery(PledgeInstanceDocument, { id });
  const tasks = useQuery(MyTasksDocument, {});
  const refresh = () => {
    query.refetch();
    tasks.refetch();
  };
  useSubscription(MyEventsDocument, {}, (e) => {
    if (e.myEvents.module === 'workflow' || e.myEvents.module === 'warehouse') refresh();
  });
  return (
    <QueryView query={query}>
      {({ workflowInstance: w }) => {
        const data = parseData(w.data);
        const calls = [...new Set(w.nextSteps.map((s) => s.call).filter(isStepCall))];
        // Margin calls are instances of their own (`{id}#MC{n}`); the open ones waiting for us are tasks.
        const marginCalls = (tasks.data?.myTasks ?? []).filter((x) => x.instanceId.startsWith(`${w.id}#`));
        if (w.process === 'pledge' && (w.state === 'pledged' || w.state === 'overdue') && marginCalls.length === 0 && !calls.includes('OpenMarginCall')) {
          calls.push('OpenMarginCall');
        }
        // A deadline can be applied only once it has passed.
        const expirable = w.deadlineMs !== null && w.deadlineMs < Date.now();
        const shown = calls.filter((c) => c !== 'Expire' || expirable);
        const ctx: StepContext = { id: w.id, subject: w.subject, amount: w.amount, data };
        return (
          <section aria-label={t('workflow.instance', { id: w.id })}>
          <Card title={t('workflow.instance', { id: w.id })} size="small">
            <Descriptions size="small" column={{ xs: 1, md: 2 }}>
              <Descriptions.Item label={t('tasks.process')}>{w.process}</Descriptions.Item>
              <Descriptions.Item label={t('tasks.state')}>
                <Tag color="blue" data-testid="workflow-state">
                  {w.state}
                </Tag>
                {openMarginCallSeq(data) !== null && <Tag color="red">{t('workflow.marginCallOpen', { seq: openMarginCallSeq(data)! })}</Tag>}
              </Descriptions.Item>
              <Descriptions.Item label={t('tasks.subject')}>{w.subject}</Descriptions.Item>
              <Descriptions.Item label={t('voucher.amount')}>
                {w.amount === null ? t('terms.sealedHidden') : <Money fen={w.amount} currency={w.currency} />}
              </Descriptions.Item>
              <Descriptions.Item label={t('workflow.applicant')}>{orgs.name(w.applicant)}</Descriptions.Item>
              {w.funder && <Descriptions.Item label={t('financing.funder')}>{orgs.name(w.funder)}</Descriptions.Item>}
              {w.warehouse && <Descriptions.Item label={t('receipt.operator')}>{orgs.name(w.warehouse)}</Descriptions.Item>}
              <Descriptions.Item label={t('workflow.waiting')}>{w.waitingParty ?? '—'}</Descriptions.Item>
              {w.deadlineMs !== null && <Descriptions.Item label={t('financing.deadline')}>{formatTime(w.deadlineMs, locale)}</Descriptions.Item>}
            </Descriptions>
            <Typography.Text type="secondary">{t('workflow.nextSteps')}</Typography.Text>
            <div style={{ marginTop: 8 }}>
              <StepButtons calls={shown} ctx={ctx} onDone={refresh} />
            </div>
            {marginCalls.map((m) => (
              <div key={m.instanceId} style={{ marginTop: 12 }}>
                <Tag color="red">{t('workflow.marginCallOpen', { seq: marginCallSeqOf(m.instanceId) ?? '?' })}</Tag>
                <Tag>{m.state}</Tag>
                <StepButtons calls={m.actions.filter(isStepCall)} ctx={{ id: m.instanceId, subject: m.subject, amount: m.amount, data: {} }} onDone={refresh} />
              </div>
            ))}
          </Card>
          </section>
        );
      }}
    </QueryView>
  );
}
