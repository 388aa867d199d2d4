import { Card, Descriptions, Table, Tag, Typography } from 'antd';
import { Link, useParams } from 'react-router-dom';

import { TransactionDocument } from '../api/generated';
import { useQuery } from '../api/hooks';
import { useI18n } from '../i18n/I18nProvider';
import { QueryView } from '../portal/QueryView';
import { OutcomeTag } from './BlockPage';

export function TransactionPage() {
  const { id = '' } = useParams();
  const { t } = useI18n();
  const query = useQuery(TransactionDocument, { id });
  return (
    <section aria-labelledby="tx-title">
      <Typography.Title id="tx-title" level={2}>
        {t('explorer.tx')}
      </Typography.Title>
      <QueryView query={query}>
        {({ transaction: x }) => (
          <Card>
            <Descriptions column={1} size="small">
              <Descriptions.Item label={t('explorer.tx')}>
                <Typography.Text code copyable>
                  {x.id}
                </Typography.Text>
              </Descriptions.Item>
              <Descriptions.Item label={t('explorer.height')}>
                <Link to={`/explorer/blocks/${x.height}`}>#{x.height}</Link> · {x.index}
              </Descriptions.Item>
              <Descriptions.Item label={t('explorer.sender')}>
                {x.sender ? <Typography.Text code>{x.sender}</Typography.Text> : t('explorer.hidden')}
              </Descriptions.Item>
              <Descriptions.Item label={t('audit.module')}>{x.module ?? t('explorer.hidden')}</Descriptions.Item>
              <Descriptions.Item label={t('explorer.outcome')}>
                <OutcomeTag tx={x} />
              </Descriptions.Item>
              {x.errorMessage && <Descriptions.Item label={t('explorer.error')}>{x.errorMessage}</Descriptions.Item>}
            </Descriptions>
          </Card>
        )}
      </QueryView>
      <QueryView query={query}>
        {({ transaction: x }) => (
          <>
            <Typography.Title level={4}>{t('explorer.events')}</Typography.Title>
            <Table
              rowKey="id"
              size="small"
              pagination={false}
              dataSource={x.events}
              scroll={{ x: 'max-content' }}
              aria-label={t('explorer.events')}
              locale={{ emptyText: t('state.empty') }}
              columns={[
                { title: t('audit.module'), dataIndex: 'module', render: (m: string) => <Tag>{m}</Tag> },
                { title: t('audit.kind'), dataIndex: 'kind' },
                {
                  title: t('audit.attributes'),
                  key: 'attrs',
                  render: (_, e) => e.attributes.map((a) => `${a.name}=${a.value}`).join(' · '),
                },
              ]}
            />
          </>
        )}
      </QueryView>
    </section>
  );
}
