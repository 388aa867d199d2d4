import { Card, Descriptions, Flex, Table, Tag, Typography } from 'antd';
import { Link, useParams } from 'react-router-dom';

import { BlockDocument, type TransactionFieldsFragment } from '../api/generated';
import { useQuery } from '../api/hooks';
import { useI18n } from '../i18n/I18nProvider';
import { QueryView } from '../portal/QueryView';
import { formatTime, shortHash } from './format';

/** One block: header fields and its transactions with their outcome. */
export function BlockPage() {
  const { height = '' } = useParams();
  const { t, locale } = useI18n();
  const h = Number(height);
  const query = useQuery(BlockDocument, { height: h }, { skip: !Number.isSafeInteger(h) });
  return (
    <section aria-labelledby="block-title">
      <Typography.Title id="block-title" level={2}>
        {t('explorer.block', { height })}
      </Typography.Title>
      <Flex gap={8} style={{ marginBottom: 12 }}>
        <Link to="/explorer">{t('explorer.title')}</Link>
        {h > 0 && <Link to={`/explorer/blocks/${h - 1}`}>← #{h - 1}</Link>}
        <Link to={`/explorer/blocks/${h + 1}`}>#{h + 1} →</Link>
      </Flex>
      <QueryView query={query}>
        {({ block: b }) => (
          <>
            <Card>
              <Descriptions column={1} size="small">
                <Descriptions.Item label={t('explorer.time')}>{formatTime(b.timeMs, locale)}</Descriptions.Item>
                <Descriptions.Item label={t('explorer.hash')}>
                  <Typography.Text code copyable>
                    {b.hash}
                  </Typography.Text>
                </Descriptions.Item>
                <Descriptions.Item label={t('explorer.parentHash')}>
                  <Typography.Text code>{b.parentHash}</Typography.Text>
                </Descriptions.Item>
                <Descriptions.Item label={t('explorer.stateRoot')}>
                  <Typography.Text code>{b.stateRoot}</Typography.Text>
                </Descriptions.Item>
                <Descriptions.Item label={t('explorer.proposer')}>
                  <Typography.Text code>{b.proposer}</Typography.Text>
                </Descriptions.Item>
                <Descriptions.Item label={t('explorer.txCount')}>{b.txCount}</Descriptions.Item>
              </Descriptions>
            </Card>
            <Typography.Title level={4}>{t('explorer.transactions')}</Typography.Title>
            <TransactionsTable rows={b.transactions} />
          </>
        )}
      </QueryView>
    </section>
  );
}

export function TransactionsTable({ rows }: { rows: TransactionFieldsFragment[] }) {
  const { t } = useI18n();
  return (
    <Table<TransactionFieldsFragment>
      rowKey="id"
      size="small"
      pagination={false}
      dataSource={rows}
      scroll={{ x: 'max-content' }}
      aria-label={t('explorer.transactions')}
      locale={{ emptyText: t('state.empty') }}
      columns={[
        { title: '#', dataIndex: 'index' },
        { title: t('explorer.tx'), dataIndex: 'id', render: (id: string) => <Link to={`/explorer/tx/${id}`}>{shortHash(id)}</Link> },
        { title: t('audit.module'), dataIndex: 'module', render: (m: string) => <Tag>{m}</Tag> },
        { title: t('explorer.sender'), dataIndex: 'sender', render: (s: string) => shortHash(s), responsive: ['md'] },
        { title: t('explorer.outcome'), key: 'outcome', render: (_, x) => <OutcomeTag tx={x} /> },
      ]}
    />
  );
}

export function OutcomeTag({ tx }: { tx: Pick<TransactionFieldsFragment, 'outcome' | 'errorCode'> }) {
  const { t } = useI18n();
  return tx.outcome === 'success' ? (
    <Tag color="success">{t('explorer.success')}</Tag>
  ) : (
    <Tag color="error">{t('explorer.failed', { code: tx.errorCode ?? '' })}</Tag>
  );
}
