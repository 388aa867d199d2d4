import { Card, Descriptions, Table, Typography } from 'antd';

import { ValidatorsDocument, type ValidatorFieldsFragment } from '../api/generated';
import { useQuery } from '../api/hooks';
import { useI18n } from '../i18n/I18nProvider';
import { QueryView } from '../portal/QueryView';
import { formatTime, shortHash } from './format';

/** The chain's status and its current validator set. */
export function ValidatorsCard() {
  const { t, locale } = useI18n();
  const query = useQuery(ValidatorsDocument, {});
  return (
    <QueryView query={query}>
      {({ validators, chainStatus: s }) => (
        <Card title={t('explorer.validators')}>
          <Descriptions column={{ xs: 1, md: 3 }} size="small">
            <Descriptions.Item label={t('explorer.chainId')}>{s.chainId}</Descriptions.Item>
            <Descriptions.Item label={t('explorer.tip')}>#{s.height}</Descriptions.Item>
            <Descriptions.Item label={t('explorer.time')}>{formatTime(s.timeMs, locale)}</Descriptions.Item>
            <Descriptions.Item label={t('explorer.indexed')}>{s.indexedHeight === null ? '—' : `#${s.indexedHeight}`}</Descriptions.Item>
            <Descriptions.Item label={t('explorer.power')}>{s.totalPower}</Descriptions.Item>
            <Descriptions.Item label={t('explorer.validatorCount')}>{s.validatorCount}</Descriptions.Item>
          </Descriptions>
          <Table<ValidatorFieldsFragment>
            rowKey="address"
            size="small"
            pagination={false}
            dataSource={validators}
            scroll={{ x: 'max-content' }}
            aria-label={t('explorer.validators')}
            columns={[
              { title: t('explorer.validator'), dataIndex: 'name' },
              { title: t('explorer.address'), dataIndex: 'address', render: (a: string) => <Typography.Text code>{shortHash(a)}</Typography.Text> },
              { title: t('explorer.power'), dataIndex: 'power', align: 'right' },
              { title: t('explorer.publicKey'), dataIndex: 'publicKey', render: (k: string) => <Typography.Text code>{shortHash(k, 10)}</Typography.Text>, responsive: ['lg'] },
            ]}
          />
        </Card>
      )}
    </QueryView>
  );
}
