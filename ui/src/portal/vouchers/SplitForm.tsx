import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { Alert, Button, Flex, Input, Select, Space, Typography } from 'antd';
import { useState } from 'react';

import type { VoucherFieldsFragment } from '../../api/generated';
import { useI18n } from '../../i18n/I18nProvider';
import { formatFen } from '../../money/fen';
import { useOrgs } from '../OrgDirectory';
import { checkSplit, MAX_PARTS, type DraftPart } from './splitParts';

/**
 * Split a voucher into parts for several recipients (the holder may keep a part). The sum is checked live
 * against the voucher's amount; submit stays disabled until it matches to the fen.
 */
export function SplitForm({
  voucher,
  self,
  busy,
  onSubmit,
}: {
  voucher: VoucherFieldsFragment;
  self: string;
  busy: boolean;
  onSubmit: (parts: { to: string; amount: bigint }[]) => void;
}) {
  const { t } = useI18n();
  const orgs = useOrgs();
  const [drafts, setDrafts] = useState<DraftPart[]>([
    { to: self, amount: '' },
    { to: undefined, amount: '' },
  ]);
  const check = checkSplit(voucher.amount, drafts);
  const recipients = orgs.orgs
    .filter((o) => o.id === self || o.roles.includes('supplier'))
    .map((o) => ({ value: o.id, label: o.id === self ? t('split.keep', { name: o.name }) : o.name }));
  const update = (i: number, p: Partial<DraftPart>) => setDrafts((ds) => ds.map((d, j) => (j === i ? { ...d, ...p } : d)));
  const badAmount = (i: number) => !check.ok && check.problems.some((p) => (p.kind === 'amount' || p.kind === 'zero') && p.index === i);
  return (
    <form
      aria-label={t('split.title')}
      onSubmit={(e) => {
        e.preventDefault();
        if (check.ok) onSubmit(check.parts);
      }}
    >
      <Space direction="vertical" style={{ width: '100%' }}>
        {drafts.map((d, i) => (
          <Flex key={i} gap={8} wrap align="center">
            <Select
              showSearch
              optionFilterProp="label"
              style={{ minWidth: 240, flex: 1 }}
              placeholder={t('split.recipient')}
              aria-label={t('split.recipientN', { n: i + 1 })}
              value={d.to}
              onChange={(to) => update(i, { to })}
              options={recipients}
            />
            <Input
              style={{ width: 200 }}
              inputMode="decimal"
              prefix="¥"
              placeholder={t('split.amountYuan')}
              aria-label={t('split.amountN', { n: i + 1 })}
              aria-invalid={d.amount !== '' && badAmount(i)}
              status={d.amount !== '' && badAmount(i) ? 'error' : ''}
              value={d.amount}
              onChange={(e) => update(i, { amount: e.target.value })}
            />
            <Button
              icon={<DeleteOutlined />}
              aria-label={t('split.removeN', { n: i + 1 })}
              disabled={drafts.length <= 1}
              onClick={() => setDrafts((ds) => ds.filter((_, j) => j !== i))}
            />
          </Flex>
        ))}
        <Button icon={<PlusOutlined />} disabled={drafts.length >= MAX_PARTS} onClick={() => setDrafts((ds) => [...ds, { to: undefined, amount: '' }])}>
          {t('split.addPart')}
        </Button>
        <div aria-live="polite" data-testid="split-sum">
          {check.remaining === 0n ? (
            <Alert type="success" showIcon message={t('split.sumOk', { sum: formatFen(check.sum), total: formatFen(voucher.amount) })} />
          ) : (
            <Alert
              type="warning"
              showIcon
              message={t(check.remaining > 0n ? 'split.sumShort' : 'split.sumOver', {
                sum: formatFen(check.sum),
                total: formatFen(voucher.amount),
                diff: formatFen(check.remaining > 0n ? check.remaining : -check.remaining),
              })}
            />
          )}
        </div>
        <Typography.Text type="secondary">{t('split.hint')}</Typography.Text>
        <Button type="primary" htmlType="submit" disabled={!check.ok} loading={busy}>
          {t('split.submit')}
        </Button>
      </Space>
    </form>
  );
}
