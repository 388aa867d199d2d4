import { Badge, Button, Card, Flex, Input, Statistic, Table, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';

import { BlocksDocument, NewBlocksDocument, type BlockFieldsFragment } from '../api/generated';
import { useQuery, useSubscription } from '../api/hooks';
import { useI18n } from '../i18n/I18nProvider';
import { QueryView } from '../portal/QueryView';
import { formatTime, shortHash } from './format';
import { ValidatorsCard } from './ValidatorsCard';

const PAGE = 20;

/** Block explorer: newest blocks (live), search by height or transaction id. */
export function ExplorerPage() {
  const { t, locale } = useI18n();
  const navigate = useNavigate();
  const [after, setAfter] = useState<string | undefined>();
  const query = useQuery(BlocksDocument, { first: PAGE, ...(after ? { after } : {}) });
  const [live, setLive] = useState<BlockFieldsFragment[]>([]);
  useSubscription(NewBlocksDocument, {}, (d) => {
    if (after === undefined) setLive((ls) => [d.newBlocks, ...ls.filter((b) => b.height !== d.newBlocks.height)].slice(0, PAGE));
  });
  const fetched = query.data?.blocks.nodes ?? [];
  const seen = new Set(fetched.map((b) => b.height));
  const rows = [...live.filter((b) => !seen.has(b.height)), ...fetched];
  const columns: TableColumnsType<BlockFieldsFragment> = [
    { title: t('explorer.height'), dataIndex: 'height', render: (h: number) => <Link to={`/explorer/blocks/${h}`}>#{h}</Link> },
    { title: t('explorer.time'), dataIndex: 'timeMs', render: (ms: number) => formatTime(ms, locale) },
    { title: t('explorer.txCount'), dataIndex: 'txCount', align: 'right' },
    { title: t('explorer.proposer'), dataIndex: 'proposer', render: (p: string) => shortHash(p), responsive: ['md'] },
    { title: t('explorer.hash'), dataIndex: 'hash', render: (h: string) => <Typography.Text code>{shortHash(h)}</Typography.Text>, responsive: ['lg'] },
  ];
  const search = (text: string) => {
    const s = text.trim();
    if (/^\d+$/.test(s)) navigate(`/explorer/blocks/${s}`);
    else if (s) navigate(`/explorer/tx/${encodeURIComponent(s)}`);
  };
  const tip = rows[0]?.height ?? query.data?.indexedHeight ?? null;
  return (
    <section aria-labelledby="explorer-title">
      <Typography.Title id="explorer-title" level={2}>
        {t('explorer.title')}
      </Typography.Title>
      <Flex wrap gap={16} style={{ marginBottom: 16 }} align="center">
        <Card size="small">
          <Statistic title={t('explorer.tip')} value={tip ?? '—'} prefix="#" />
        </Card>
        <span aria-live="polite">
          <Badge status="processing" text={t('explorer.live')} />
        </span>
        <Input.Search
          style={{ maxWidth: 420 }}
          placeholder={t('explorer.search')}
          aria-label={t('explorer.search')}
          enterButton
          onSearch={search}
        />
      </Flex>
      <QueryView query={query}>
        {(d) => (
          <>
            <Table<BlockFieldsFragment>
              rowKey="height"
              size="middle"
              columns={columns}
              dataSource={rows}
              loading={query.loading}
              pagination={false}
              scroll={{ x: 'max-content' }}
              aria-label={t('explorer.blocks')}
            />
            <Flex gap={8} style={{ marginTop: 12 }}>
              {after !== undefined && (
                <Button
                  onClick={() => {
                    setAfter(undefined);
                    setLive([]);
                  }}
                >
                  {t('explorer.newest')}
                </Button>
              )}
              {d.blocks.pageInfo.hasNextPage && d.blocks.pageInfo.endCursor && (
                <Button onClick={() => setAfter(d.blocks.pageInfo.endCursor ?? undefined)}>{t('explorer.older')}</Button>
              )}
            </Flex>
          </>
        )}
      </QueryView>
      <div style={{ marginTop: 24 }}>
        <ValidatorsCard />
      </div>
    </section>
  );
}
