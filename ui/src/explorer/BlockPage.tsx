import { Alert, Card, Descriptions, Flex, Table, Tag, Typography } from 'antd';
import { useMemo } from 'react';
import { Link, useParams } from 'react-router-dom';

import { BlockDocument, type BlockQuery, type TransactionFieldsFragment } from '../api/generated';
import { useQuery } from '../api/hooks';
import { useI18n } from '../i18n/I18nProvider';
import { QueryView } from '../portal/QueryView';
import { describeFailure } from '../scan/failure';
import { checkBlockCertificate } from './certificateCheck';
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
        {({ block: b, validators }) => (
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
            <Typography.Title level={4}>{t('explorer.certificate')}</Typography.Title>
            <CertificateCard block={b} validators={validators} />
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
        // Null for a transaction that does not concern the caller's organisation: the server hides it.
        { title: t('audit.module'), dataIndex: 'module', render: (m: string | null) => (m ? <Tag>{m}</Tag> : t('explorer.hidden')) },
        { title: t('explorer.sender'), dataIndex: 'sender', render: (s: string | null) => (s ? shortHash(s) : t('explorer.hidden')), responsive: ['md'] },
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

/**
 * The block's finality certificate: who signed, with how much power, and whether the signatures hold —
 * checked here in the browser (header hash recomputed, SM2 precommits against the validator set).
 */
function CertificateCard({ block, validators }: { block: BlockQuery['block']; validators: BlockQuery['validators'] }) {
  const { t } = useI18n();
  const verdict = useMemo(() => checkBlockCertificate(block, validators), [block, validators]);
  const c = block.certificate;
  if (!c) return <Alert type="info" showIcon message={t('explorer.noCertificate')} />;
  const names = new Map(validators.map((v) => [v.address.toLowerCase(), v.name]));
  return (
    <Card>
      <div aria-live="polite" style={{ marginBottom: 12 }}>
        {verdict.ok === true ? (
          <Alert
            type="success"
            showIcon
            message={t('explorer.certVerified')}
            description={t('explorer.certVerifiedDetail', { signers: verdict.signers.length, signed: verdict.signedPower, total: verdict.totalPower, round: c.round })}
          />
        ) : verdict.ok === false ? (
          <Alert type="error" showIcon message={t('explorer.certFailed')} description={describeFailure(verdict.failure, t)} />
        ) : (
          <Alert type="info" showIcon message={t('explorer.noCertificate')} />
        )}
      </div>
      <Descriptions column={{ xs: 1, md: 3 }} size="small">
        <Descriptions.Item label={t('explorer.round')}>{c.round}</Descriptions.Item>
        <Descriptions.Item label={t('explorer.power')}>
          {c.signedPower}/{c.totalPower}
        </Descriptions.Item>
        <Descriptions.Item label={t('explorer.hash')}>
          <Typography.Text code>{shortHash(c.blockHash)}</Typography.Text>
        </Descriptions.Item>
      </Descriptions>
      <Table
        rowKey="validator"
        size="small"
        pagination={false}
        dataSource={c.signatures}
        scroll={{ x: 'max-content' }}
        aria-label={t('explorer.signatures')}
        columns={[
          { title: t('explorer.validator'), key: 'name', render: (_, s) => s.validatorName ?? names.get(s.validator.toLowerCase()) ?? '—' },
          { title: t('explorer.address'), dataIndex: 'validator', render: (a: string) => <Typography.Text code>{shortHash(a)}</Typography.Text> },
          { title: t('explorer.signature'), dataIndex: 'signature', render: (sig: string) => <Typography.Text code>{shortHash(sig, 12)}</Typography.Text>, responsive: ['md'] },
        ]}
      />
    </Card>
  );
}
