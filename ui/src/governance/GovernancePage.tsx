import { Button, Card, Descriptions, Flex, Progress, Table, Tag, Typography, type TableColumnsType } from 'antd';

import { CloseProposalDocument, GovernanceDocument, MyEventsDocument, VoteDocument, type Ballot, type GovernanceQuery } from '../api/generated';
import { useGql, useQuery, useSubscription } from '../api/hooks';
import { useSession } from '../auth/SessionProvider';
import { formatTime, shortHash } from '../explorer/format';
import { useI18n, type Translate } from '../i18n/I18nProvider';
import { formatFen } from '../money/fen';
import { useOrgs } from '../portal/OrgDirectory';
import { QueryView } from '../portal/QueryView';
import { useTx } from '../portal/useTx';
import { kindName, ProposeForm, REVOCATION_REASONS } from './ProposeForm';

type Proposal = GovernanceQuery['proposals'][number];
type OrgCa = GovernanceQuery['certificateAuthorities'][number];
type Revoked = GovernanceQuery['revokedCertificates'][number];

const DAY_MS = 86_400_000;
/** A CA whose notAfter is this close is highlighted: its organisation should propose the next one. */
export const CA_WARN_DAYS = 30;

/** A calendar date in China Standard Time. */
function formatDate(ms: number, locale: string): string {
  return new Date(ms).toLocaleDateString(locale === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai' });
}

/** `expired`, `soon` (within CA_WARN_DAYS) or `ok`, and whole days left, at `now`. */
export function caExpiry(notAfterMs: number, now: number): { state: 'expired' | 'soon' | 'ok'; days: number } {
  const left = notAfterMs - now;
  const days = Math.max(0, Math.ceil(left / DAY_MS));
  return { state: left <= 0 ? 'expired' : left <= CA_WARN_DAYS * DAY_MS ? 'soon' : 'ok', days };
}

function reasonLabel(t: Translate, r: string): string {
  return (REVOCATION_REASONS as readonly string[]).includes(r) ? `${t(`revoke.reason.${r as (typeof REVOCATION_REASONS)[number]}`)} (${r})` : r;
}

function Mono({ children }: { children: string }) {
  return (
    <Typography.Text code copyable={{ text: children }} style={{ wordBreak: 'break-all' }}>
      {children}
    </Typography.Text>
  );
}

/** What a proposal changes, readably for the kinds a voter must check by eye; JSON for the rest. */
function ProposalDetail({ p, cas }: { p: Proposal; cas: readonly OrgCa[] }) {
  const { t, locale } = useI18n();
  const orgs = useOrgs();
  let d: Record<string, unknown> = {};
  try {
    d = JSON.parse(p.kindDetail) as Record<string, unknown>;
  } catch {
    // Shown raw below.
  }
  const str = (x: unknown) => (typeof x === 'string' ? x : x === undefined || x === null ? '' : String(x));
  const caName = (fp: string) => cas.find((c) => c.fingerprint === fp)?.subject ?? t('gov.ca.unknown');
  const c = p.certificate;
  if (p.kind === 'add_org_ca' && c) {
    return (
      <Descriptions size="small" column={1} aria-label={t('gov.detail')}>
        <Descriptions.Item label={t('gov.ca.org')}>{orgs.name(str(d.org_id))}</Descriptions.Item>
        {c.problem ? (
          <Descriptions.Item label={t('gov.ca.subject')}>{t('gov.ca.problem', { reason: c.problem })}</Descriptions.Item>
        ) : (
          <>
            <Descriptions.Item label={t('gov.ca.subject')}>{c.subject}</Descriptions.Item>
            <Descriptions.Item label={t('gov.ca.issuer')}>{c.issuer}</Descriptions.Item>
            <Descriptions.Item label={t('gov.ca.serial')}>{c.serial}</Descriptions.Item>
            <Descriptions.Item label={t('gov.ca.notBefore')}>{formatDate(c.notBeforeMs, locale)}</Descriptions.Item>
            <Descriptions.Item label={t('gov.ca.notAfter')}>{formatDate(c.notAfterMs, locale)}</Descriptions.Item>
          </>
        )}
        <Descriptions.Item label={t('gov.ca.fingerprint')}>
          <Mono>{c.fingerprint}</Mono>
        </Descriptions.Item>
      </Descriptions>
    );
  }
  if (p.kind === 'remove_org_ca') {
    const fp = str(d.fingerprint);
    return (
      <Descriptions size="small" column={1} aria-label={t('gov.detail')}>
        <Descriptions.Item label={t('gov.ca.org')}>{orgs.name(str(d.org_id))}</Descriptions.Item>
        <Descriptions.Item label={t('gov.ca.subject')}>{caName(fp)}</Descriptions.Item>
        <Descriptions.Item label={t('gov.ca.fingerprint')}>
          <Mono>{fp}</Mono>
        </Descriptions.Item>
      </Descriptions>
    );
  }
  if (p.kind === 'revoke_certificate') {
    const fp = str(d.ca);
    return (
      <Descriptions size="small" column={1} aria-label={t('gov.detail')}>
        <Descriptions.Item label={t('gov.revoked.issuer')}>{caName(fp)}</Descriptions.Item>
        <Descriptions.Item label={t('gov.ca.fingerprint')}>
          <Mono>{fp}</Mono>
        </Descriptions.Item>
        <Descriptions.Item label={t('gov.revoked.serial')}>{str(d.serial)}</Descriptions.Item>
        <Descriptions.Item label={t('gov.revoked.reason')}>{reasonLabel(t, str(d.reason))}</Descriptions.Item>
      </Descriptions>
    );
  }
  return (
    <Typography.Text code style={{ whiteSpace: 'pre-wrap' }}>
      {p.kindDetail}
    </Typography.Text>
  );
}

/** The organisation CAs recorded on chain (expiring ones highlighted) and the certificates revoked. */
export function CertificateTables({ cas, revoked, now }: { cas: readonly OrgCa[]; revoked: readonly Revoked[]; now: number }) {
  const { t, locale } = useI18n();
  const orgs = useOrgs();
  const caColumns: TableColumnsType<OrgCa> = [
    { title: t('gov.ca.org'), dataIndex: 'org', render: (o: string) => orgs.name(o) },
    { title: t('gov.ca.subject'), dataIndex: 'subject' },
    { title: t('gov.ca.fingerprint'), dataIndex: 'fingerprint', render: (f: string) => <Typography.Text code copyable={{ text: f }}>{shortHash(f)}</Typography.Text> },
    {
      title: t('gov.ca.notAfter'),
      dataIndex: 'notAfterMs',
      render: (ms: number) => {
        const e = caExpiry(ms, now);
        return (
          <Flex gap={4} wrap align="center">
            <span>{formatDate(ms, locale)}</span>
            {e.state === 'expired' && <Tag color="error">{t('gov.ca.expired')}</Tag>}
            {e.state === 'soon' && <Tag color="warning">{t('gov.ca.expiresIn', { days: e.days })}</Tag>}
          </Flex>
        );
      },
    },
    { title: t('gov.ca.recorded'), dataIndex: 'recordedHeight', render: (h: number) => (h === 0 ? t('gov.ca.genesis') : `#${h}`) },
  ];
  const revokedColumns: TableColumnsType<Revoked> = [
    { title: t('gov.revoked.issuer'), dataIndex: 'issuer' },
    { title: t('gov.ca.fingerprint'), dataIndex: 'caFingerprint', render: (f: string) => <Typography.Text code copyable={{ text: f }}>{shortHash(f)}</Typography.Text>, responsive: ['md'] },
    { title: t('gov.revoked.serial'), dataIndex: 'serial' },
    { title: t('gov.revoked.reason'), dataIndex: 'reason', render: (r: string) => reasonLabel(t, r) },
    { title: t('gov.revoked.height'), dataIndex: 'height', render: (h: number) => `#${h}` },
  ];
  return (
    <>
      <Card title={t('gov.cas')} style={{ marginBottom: 16 }}>
        <Table<OrgCa>
          rowKey="fingerprint"
          size="small"
          columns={caColumns}
          dataSource={[...cas]}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('gov.casNone') }}
          aria-label={t('gov.cas')}
          rowClassName={(c) => (caExpiry(c.notAfterMs, now).state === 'ok' ? '' : 'scf-row-warn')}
        />
      </Card>
      <Card title={t('gov.revoked')} style={{ marginBottom: 16 }}>
        <Table<Revoked>
          rowKey={(r) => `${r.caFingerprint}/${r.serial}`}
          size="small"
          columns={revokedColumns}
          dataSource={[...revoked].sort((a, b) => b.height - a.height)}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('gov.revokedNone') }}
          aria-label={t('gov.revoked')}
        />
      </Card>
    </>
  );
}

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
    {
      title: t('gov.kind'),
      dataIndex: 'kind',
      render: (k: string) => {
        const name = kindName(k);
        return <Tag title={k}>{name ? t(`propose.kind.${name}`) : k}</Tag>;
      },
    },
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
      {canAct && session?.user.role === 'admin' && <ProposeForm onDone={query.refetch} cas={query.data?.certificateAuthorities ?? []} />}
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
                      <ProposalDetail p={p} cas={d.certificateAuthorities} />
                    </Descriptions.Item>
                    <Descriptions.Item label={t('gov.votes')}>
                      {p.votes.map((v) => `${orgs.name(v.org)}: ${t(`gov.ballot.${v.ballot}`)} (${v.weight})`).join('；') || '—'}
                    </Descriptions.Item>
                    {p.failure && <Descriptions.Item label={t('gov.failure')}>{p.failure}</Descriptions.Item>}
                  </Descriptions>
                ),
              }}
            />
            <CertificateTables cas={d.certificateAuthorities} revoked={d.revokedCertificates} now={Date.now()} />
          </>
        )}
      </QueryView>
    </section>
  );
}
