import { Button, Card, Flex, Popconfirm, Table, Tag, Typography } from 'antd';

import { CreateUserDocument, DisableUserDocument, ExpiringKeysDocument, OrgUsersDocument, SetKeyExpiryDocument, TlsCertificatesDocument, type OrgUsersQuery, type TlsCertificatesQuery } from '../api/generated';
import { useGql, useQuery } from '../api/hooks';
import { useSession } from '../auth/SessionProvider';
import { formatTime } from '../explorer/format';
import { useI18n } from '../i18n/I18nProvider';
import { ActionForm } from '../portal/actions/ActionForm';
import { QueryView } from '../portal/QueryView';
import { useTx } from '../portal/useTx';
import { isIsoDate } from '../validate/keys';

type User = OrgUsersQuery['orgUsers'][number];
type TlsCert = TlsCertificatesQuery['tlsCertificates'][number];

const DAY_MS = 86_400_000;
/** Certificates are flagged from this many days before they expire. */
export const TLS_WARN_DAYS = 30;

/** Business date → end of that day in Beijing time (the chain's business time zone), ms since the epoch. */
export function endOfDayCstMs(date: string): number {
  return Date.parse(`${date}T23:59:59.999+08:00`);
}

/**
 * An organisation admin's page: the organisation's users and their signing accounts, creating a user
 * (whose custodial key the server registers on chain), disabling one (its sessions end and its account
 * is removed on chain), and recording when keys expire.
 */
export function UsersPage() {
  const { t, locale } = useI18n();
  const gql = useGql();
  const { session } = useSession();
  const users = useQuery(OrgUsersDocument, {});
  const { run, busy } = useTx();
  const expiring = useQuery(ExpiringKeysDocument, { withinDays: 365 });
  const tls = useQuery(TlsCertificatesDocument, {});
  if (session?.user.role !== 'admin') {
    return <Typography.Paragraph>{t('admin.only')}</Typography.Paragraph>;
  }
  return (
    <section aria-labelledby="users-title">
      <Typography.Title id="users-title" level={2}>
        {t('admin.title')}
      </Typography.Title>
      <QueryView query={users}>
        {(d) => (
          <Table<User>
            rowKey="id"
            size="middle"
            aria-label={t('admin.users')}
            dataSource={d.orgUsers}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            scroll={{ x: 'max-content' }}
            columns={[
              { title: t('login.username'), dataIndex: 'username' },
              { title: t('admin.role'), dataIndex: 'role', render: (r: 'admin' | 'operator' | 'viewer') => <Tag>{t(`admin.role.${r.toLowerCase() as 'admin' | 'operator' | 'viewer'}`)}</Tag> },
              { title: t('admin.address'), dataIndex: 'address', render: (a: string) => <Typography.Text code copyable>{a}</Typography.Text> },
              {
                title: t('admin.status'),
                key: 'status',
                render: (_, u) =>
                  u.disabled ? (
                    <Tag color="default">{t('admin.disabled')}</Tag>
                  ) : u.mustChangePassword ? (
                    <Tag color="orange">{t('admin.oneTime')}</Tag>
                  ) : (
                    <Tag color="green">{t('admin.active')}</Tag>
                  ),
              },
              {
                title: t('admin.actions'),
                key: 'actions',
                render: (_, u) =>
                  // The server refuses an admin disabling itself; the page does not offer it.
                  u.disabled ? null : u.username === session.user.username ? (
                    <Typography.Text type="secondary">{t('admin.self')}</Typography.Text>
                  ) : (
                    <Popconfirm
                      title={t('admin.disableConfirm', { username: u.username })}
                      okText={t('admin.disable')}
                      okButtonProps={{ danger: true }}
                      onConfirm={async () => {
                        if (await run(`${t('admin.disable')} ${u.username}`, () => gql(DisableUserDocument, { username: u.username }))) users.refetch();
                      }}
                    >
                      <Button size="small" danger loading={busy === `${t('admin.disable')} ${u.username}`} aria-label={`${t('admin.disable')} ${u.username}`}>
                        {t('admin.disable')}
                      </Button>
                    </Popconfirm>
                  ),
              },
            ]}
          />
        )}
      </QueryView>
      <Flex gap={16} wrap align="start" style={{ marginTop: 16 }}>
        <Card size="small" title={t('admin.create')} style={{ flex: '1 1 360px' }}>
          <ActionForm
            title={t('admin.create')}
            onDone={users.refetch}
            fields={[
              {
                name: 'username',
                label: t('login.username'),
                check: (v) => (v.length > 64 || !/^[\p{L}\p{N}._\-@]+$/u.test(v) ? t('admin.usernameRule') : null),
              },
              { name: 'password', label: t('login.password'), kind: 'password', help: t('password.help') },
              {
                name: 'role',
                label: t('admin.role'),
                kind: 'select',
                initial: 'OPERATOR',
                options: (['ADMIN', 'OPERATOR', 'VIEWER'] as const).map((r) => ({ value: r, label: t(`admin.role.${r.toLowerCase() as 'admin' | 'operator' | 'viewer'}`) })),
              },
            ]}
            submit={(v) => gql(CreateUserDocument, { input: { username: String(v.username), password: String(v.password), role: v.role as 'ADMIN' | 'OPERATOR' | 'VIEWER' } })}
          />
        </Card>
        <Card size="small" title={t('admin.keyExpiry')} style={{ flex: '1 1 360px' }}>
          <ActionForm
            title={t('admin.keyExpiry')}
            onDone={expiring.refetch}
            fields={[
              { name: 'address', label: t('admin.address'), kind: 'address' },
              { name: 'date', label: t('admin.expiresOn'), kind: 'date', optional: true, help: t('admin.expiresHelp'), check: (v) => (isIsoDate(v) ? null : t('valid.date')) },
            ]}
            submit={(v) => gql(SetKeyExpiryDocument, { address: String(v.address).toLowerCase(), expiresAtMs: v.date === undefined ? null : endOfDayCstMs(String(v.date)) })}
          />
          <QueryView query={expiring}>
            {(d) => (
              <Table
                style={{ marginTop: 16 }}
                rowKey="address"
                size="small"
                aria-label={t('admin.expiring')}
                pagination={false}
                dataSource={d.expiringKeys}
                locale={{ emptyText: t('state.empty') }}
                columns={[
                  { title: t('admin.address'), dataIndex: 'address', render: (a: string) => `${a.slice(0, 10)}…` },
                  { title: t('admin.label'), dataIndex: 'label' },
                  { title: t('admin.expiresOn'), dataIndex: 'expiresAtMs', render: (ms: number) => formatTime(ms, locale) },
                  { title: t('receipt.status'), dataIndex: 'expired', render: (e: boolean) => (e ? <Tag color="red">{t('admin.expired')}</Tag> : <Tag>{t('admin.valid')}</Tag>) },
                ]}
              />
            )}
          </QueryView>
        </Card>
      </Flex>
      <Card size="small" title={t('admin.tls')} style={{ marginTop: 16 }}>
        <Typography.Paragraph type="secondary">{t('admin.tlsHelp')}</Typography.Paragraph>
        <QueryView query={tls}>
          {(d) => (
            <Table<TlsCert>
              rowKey={(c) => `${c.endpoint}/${c.serial}`}
              size="small"
              aria-label={t('admin.tls')}
              pagination={false}
              dataSource={d.tlsCertificates}
              locale={{ emptyText: t('state.empty') }}
              scroll={{ x: 'max-content' }}
              columns={[
                { title: t('admin.tlsEndpoint'), dataIndex: 'endpoint', render: (e: string) => (['p2p', 'node-api', 'mqtt'].includes(e) ? t(`admin.tlsEndpoint.${e as 'p2p' | 'node-api' | 'mqtt'}`) : e) },
                { title: t('admin.tlsSubject'), dataIndex: 'subject' },
                { title: t('admin.tlsSerial'), dataIndex: 'serial' },
                { title: t('admin.expiresOn'), dataIndex: 'notAfterMs', render: (ms: number) => formatTime(ms, locale) },
                { title: t('admin.daysLeft'), dataIndex: 'msLeft', render: (ms: number) => Math.floor(ms / DAY_MS) },
                {
                  title: t('receipt.status'),
                  key: 'state',
                  render: (_, c) =>
                    c.expired ? (
                      <Tag color="red">{t('admin.expired')}</Tag>
                    ) : c.msLeft < TLS_WARN_DAYS * DAY_MS ? (
                      <Tag color="orange">{t('admin.tlsSoon')}</Tag>
                    ) : (
                      <Tag>{t('admin.valid')}</Tag>
                    ),
                },
              ]}
            />
          )}
        </QueryView>
      </Card>
    </section>
  );
}
