import { Button, Card, Descriptions, Flex, Progress, Table, Tag, Typography, type TableColumnsType } from 'antd';

import { CloseProposalDocument, GovernanceDocument, MyEventsDocument, VoteDocument, type Ballot, type GovernanceQuery } from '../api/generated';
import { useGql, useQuery, useSubscription } from '../api/hooks';
import { useSession } from '../auth/SessionProvider';
import { formatTime } from '../explorer/format';
import { useI18n } from '../i18n/I18nProvider';
import { formatFen } from '../money/fen';
import { useOrgs } from '../portal/OrgDirectory';
import { QueryView } from '../portal/QueryView';
import { useTx } from '../portal/useTx';
import { ProposeForm } from './ProposeForm';

type Proposal = GovernanceQuery['proposals'][number];

const STATUS_COLOR: Record<string, string> = { open: 'processing', executed: 'success', failed: 'error', rejected: 'default', expired: 'default' };
const BALLOTS: Ballot[] = ['YES', 'NO', 'ABSTAIN'];

/** Consortium governance: the committee, proposals with their tally, voting and closing. */
export function GovernancePage() {
  const { t, locale } = useI18n();
  const orgs = useOrgs();
  const gql = useGql();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  const canAct = session?.user.role !== 'viewer';
  const query = useQuery(GovernanceDocument, { filter: null });
  useSubscription(MyEventsDocument, {}, (e) => {
    if (e.myEvents.module === 'governance') query.refetch();
  });
  const { run, busy } = useTx();
  const act = async (label: string, f: () => Promise<object>) => {
    if (await run(label, f)) query.refetch();
  };
  const pct = (bp: number) => `${formatFen(bp, { grouping: false })}%`;
  const columns: TableColumnsType<Proposal> = [
    { title: '#', dataIndex: 'id' },
    { title: t('gov.title'), dataIndex: 'title' },
    { title: t('gov.kind'), dataIndex: 'kind', render: (k: string) => <Tag>{k}</Tag> },
    { title: t('gov.proposer'), dataIndex: 'proposer', render: (o: string) => orgs.name(o), responsive: ['md'] },
    {
      title: t('gov.tally'),
      key: 'tally',
      render: (_, p) => (
        <div style={{ minWidth: 160 }} aria-label={t('gov.tallyLabel', { yes: p.tally.yes, no: p.tally.no, abstain: p.tally.abstain, total: p.tally.total })}>
          <Progress
            size="small"
            percent={p.tally.total ? Math.round(((p.tally.yes + p.tally.no + p.tally.abstain) * 100) / p.tally.total) : 0}
            success={{ percent: p.tally.total ? Math.round((p.tally.yes * 100) / p.tally.total) : 0 }}
            showInfo={false}
          />
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('gov.tallyLabel', { yes: p.tally.yes, no: p.tally.no, abstain: p.tally.abstain, total: p.tally.total })}
          </Typography.Text>
        </div>
      ),
    },
    {
      title: t('gov.deadline'),
      key: 'deadline',
      render: (_, p) => (p.deadline.height !== null ? `#${p.deadline.height}` : p.deadline.timeMs !== null ? formatTime(p.deadline.timeMs, locale) : '—'),
      responsive: ['lg'],
    },
    { title: t('gov.status'), dataIndex: 'status', render: (s: string) => <Tag color={STATUS_COLOR[s] ?? 'default'}>{s}</Tag> },
    {
      title: t('voucher.actions'),
      key: 'actions',
      render: (_, p) => {
        if (p.status !== 'open' || !canAct) return null;
        const member = query.data?.committee.members.some((m) => m.org === me) ?? false;
        const voted = p.votes.find((v) => v.org === me);
        return (
          <Flex gap={4} wrap>
            {member &&
              BALLOTS.map((b) => (
                <Button
                  key={b}
                  size="small"
                  type={voted?.ballot === b ? 'primary' : 'default'}
                  loading={busy === t(`gov.ballot.${b}`)}
                  aria-label={`${t(`gov.ballot.${b}`)} #${p.id}`}
                  onClick={() => void act(t(`gov.ballot.${b}`), () => gql(VoteDocument, { proposalId: p.id, ballot: b }))}
                >
                  {t(`gov.ballot.${b}`)}
                </Button>
              ))}
            {p.decidedEarly && (
              <Button size="small" onClick={() => void act(t('gov.close'), () => gql(CloseProposalDocument, { proposalId: p.id }))}>
                {t('gov.close')} ({p.outcomeNow})
              </Button>
            )}
          </Flex>
        );
      },
    },
  ];
  return (
    <section aria-labelledby="gov-title">
      <Typography.Title id="gov-title" level={2}>
        {t('nav.governance')}
      </Typography.Title>
      {canAct && session?.user.role === 'admin' && <ProposeForm onDone={query.refetch} />}
      <QueryView query={query}>
        {(d) => (
          <>
            <Card title={t('gov.committee')} style={{ marginBottom: 16 }}>
              <Descriptions size="small" column={{ xs: 1, md: 3 }}>
                <Descriptions.Item label={t('gov.participation')}>{pct(d.committee.participationBp)}</Descriptions.Item>
                <Descriptions.Item label={t('gov.pass')}>{pct(d.committee.passBp)}</Descriptions.Item>
                <Descriptions.Item label={t('gov.validatorDelay')}>{d.committee.validatorDelayBlocks}</Descriptions.Item>
              </Descriptions>
              <Flex wrap gap={8}>
                {d.committee.members.map((m) => (
                  <Tag key={m.org}>
                    {orgs.name(m.org)} · {t('gov.weight', { weight: m.weight })}
                  </Tag>
                ))}
              </Flex>
            </Card>
            <Table<Proposal>
              rowKey="id"
              size="middle"
              columns={columns}
              dataSource={[...d.proposals].sort((a, b) => b.id - a.id)}
              loading={query.loading}
              pagination={{ pageSize: 20, hideOnSinglePage: true }}
              scroll={{ x: 'max-content' }}
              locale={{ emptyText: t('gov.none') }}
              aria-label={t('gov.proposals')}
              expandable={{
                expandedRowRender: (p) => (
                  <Descriptions size="small" column={1}>
                    <Descriptions.Item label={t('gov.detail')}>
                      <Typography.Text code style={{ whiteSpace: 'pre-wrap' }}>
                        {p.kindDetail}
                      </Typography.Text>
                    </Descriptions.Item>
                    <Descriptions.Item label={t('gov.votes')}>
                      {p.votes.map((v) => `${orgs.name(v.org)}: ${t(`gov.ballot.${v.ballot}`)} (${v.weight})`).join('；') || '—'}
                    </Descriptions.Item>
                    {p.failure && <Descriptions.Item label={t('gov.failure')}>{p.failure}</Descriptions.Item>}
                  </Descriptions>
                ),
              }}
            />
          </>
        )}
      </QueryView>
    </section>
  );
}
