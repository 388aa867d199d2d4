import { Badge, Button, Flex, Table, Tag, type TableColumnsType } from 'antd';
import { useState } from 'react';

import { AlertsDocument, ClearDeviceAlertDocument, IotAlertsDocument, type AlertFieldsFragment, type AlertFilter } from '../../api/generated';
import { useGql, useQuery, useSubscription } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import { formatTime } from '../../explorer/format';
import { useI18n } from '../../i18n/I18nProvider';
import { FieldsModal } from '../FieldsModal';
import { useOrgs } from '../OrgDirectory';
import { QueryView } from '../QueryView';
import { useTx } from '../useTx';
import { describeRule, observed } from './alerts';

/**
 * IoT alerts (newest first), live: a new alert arrives over the `iotAlerts` subscription and is shown at
 * once, highlighted. The device's owner may clear an alert with a reason.
 */
export function AlertsTable({ label, filter }: { label: string; filter?: AlertFilter }) {
  const { t, locale } = useI18n();
  const orgs = useOrgs();
  const gql = useGql();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  const query = useQuery(AlertsDocument, { filter: filter ?? null, first: 100 });
  const [live, setLive] = useState<AlertFieldsFragment[]>([]);
  useSubscription(IotAlertsDocument, {}, (d) => {
    setLive((ls) => [d.iotAlerts, ...ls.filter((a) => a.id !== d.iotAlerts.id)]);
    query.refetch();
  });
  const { run, busy } = useTx();
  const [clearing, setClearing] = useState<AlertFieldsFragment | null>(null);
  const fetched = query.data?.alerts.nodes ?? [];
  const seen = new Set(fetched.map((a) => a.id));
  const rows = [...live.filter((a) => !seen.has(a.id)), ...fetched];
  const fresh = new Set(live.map((a) => a.id));
  const columns: TableColumnsType<AlertFieldsFragment> = [
    { title: t('alert.raised'), dataIndex: 'raisedTimeMs', render: (ms: number) => formatTime(ms, locale) },
    {
      title: t('alert.device'),
      dataIndex: 'deviceId',
      render: (id: string, a) => (
        <span>
          {id}
          {fresh.has(a.id) && <Badge status="processing" text={t('alert.new')} style={{ marginInlineStart: 8 }} />}
        </span>
      ),
    },
    { title: t('alert.rule'), key: 'rule', render: (_, a) => describeRule(a.rule, t) },
    { title: t('alert.observed'), key: 'observed', render: (_, a) => <Tag color="red">{observed(a) || a.detail}</Tag> },
    {
      title: t('alert.flagged'),
      key: 'flagged',
      render: (_, a) => (a.flaggedKind === 'NOTHING' ? '—' : `${t(`alert.flagged.${a.flaggedKind}`)} ${a.flaggedRef ?? ''}`),
      responsive: ['md'],
    },
    { title: t('alert.owner'), dataIndex: 'owner', render: (o: string) => orgs.name(o), responsive: ['lg'] },
    {
      title: t('alert.status'),
      key: 'status',
      render: (_, a) =>
        a.status === 'OPEN' ? (
          <Flex gap={4} wrap align="center">
            <Tag color="error">{t('alert.open')}</Tag>
            {a.owner === me && session?.user.role !== 'viewer' && (
              <Button size="small" onClick={() => setClearing(a)} aria-label={`${t('alert.clear')} ${a.id}`}>
                {t('alert.clear')}
              </Button>
            )}
          </Flex>
        ) : (
          <Tag color="default" title={a.clearedReason ?? undefined}>
            {t('alert.cleared')}
          </Tag>
        ),
    },
  ];
  return (
    <section aria-label={label}>
      <div aria-live="polite" style={{ marginBottom: 8 }}>
        <Badge status="processing" text={t('alert.live')} />
      </div>
      <QueryView query={query}>
        {() => (
          <Table<AlertFieldsFragment>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={rows}
            loading={query.loading}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: t('alert.none') }}
            rowClassName={(a) => (a.status === 'OPEN' ? 'scf-row-alert' : '')}
            aria-label={label}
          />
        )}
      </QueryView>
      {clearing && (
        <FieldsModal
          open
          title={`${t('alert.clear')} · ${clearing.id}`}
          busy={busy !== null}
          onCancel={() => setClearing(null)}
          fields={[{ name: 'reason', label: t('form.reason'), kind: 'textarea' }]}
          onSubmit={async (f) => {
            const r = await run(t('alert.clear'), () => gql(ClearDeviceAlertDocument, { alertId: clearing.id, reason: f.reason!.trim() }));
            if (r) {
              setClearing(null);
              query.refetch();
            }
          }}
        />
      )}
    </section>
  );
}
