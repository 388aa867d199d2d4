import { Alert, Button, Descriptions, Modal, Space, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router-dom';

import { FinancingRegistrationDocument } from '../../api/generated';
import { useQuery } from '../../api/hooks';
import { useI18n } from '../../i18n/I18nProvider';
import { formatFen } from '../../money/fen';
import { downloadText } from '../exportCsv';
import { Money } from '../Money';
import { QueryView } from '../QueryView';

/** A button that opens the 中登网 registration record of a financed voucher, with a JSON download. */
export function RegistrationRecordButton({ voucherId }: { voucherId: string }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button size="small" onClick={() => setOpen(true)} aria-label={`${t('registration.view')} ${voucherId}`}>
        {t('registration.view')}
      </Button>
      {open && <RegistrationRecordModal voucherId={voucherId} onClose={() => setOpen(false)} />}
    </>
  );
}

function RegistrationRecordModal({ voucherId, onClose }: { voucherId: string; onClose: () => void }) {
  const { t } = useI18n();
  const query = useQuery(FinancingRegistrationDocument, { voucherId });
  const sealed = t('terms.sealedHidden');
  return (
    <Modal open title={`${t('registration.title')} · ${voucherId}`} onCancel={onClose} footer={null} width={760} destroyOnHidden>
      <QueryView query={query}>
        {(data) => {
          const r = data.financingRegistration;
          if (!r) return <Alert type="info" showIcon message={t('registration.none')} />;
          const party = (p: typeof r.transferor) => `${p.name}（${p.idType} ${p.idNumber}）`;
          return (
            <Space direction="vertical" style={{ width: '100%' }}>
              <Descriptions column={1} size="small" bordered aria-label={t('registration.title')}>
                <Descriptions.Item label={t('registration.no')}>{r.registrationNo}</Descriptions.Item>
                <Descriptions.Item label={t('registration.type')}>{r.registrationType}</Descriptions.Item>
                <Descriptions.Item label={t('registration.term')}>{t('registration.months', { n: r.termMonths })}</Descriptions.Item>
                <Descriptions.Item label={t('registration.transferor')}>{party(r.transferor)}</Descriptions.Item>
                <Descriptions.Item label={t('registration.transferee')}>{party(r.transferee)}</Descriptions.Item>
                <Descriptions.Item label={t('registration.obligor')}>{party(r.obligor)}</Descriptions.Item>
                <Descriptions.Item label={t('registration.mainContract')}>
                  {r.mainContractNo} · {r.mainContractAmount !== null ? <Money fen={r.mainContractAmount} currency={r.currency} /> : sealed}
                </Descriptions.Item>
                <Descriptions.Item label={t('registration.propertyValue')}>
                  <Money fen={r.propertyValue} currency={r.currency} />
                </Descriptions.Item>
                <Descriptions.Item label={t('registration.description')}>{r.propertyDescription}</Descriptions.Item>
                <Descriptions.Item label={t('registration.discount')}>
                  {r.discountRateBp !== null ? `${formatFen(r.discountRateBp, { grouping: false })}% · ` : `${sealed} · `}
                  {r.dayCount} · {t('registration.days', { n: r.days })}
                  {r.discountInterest !== null && (
                    <>
                      {' · '}
                      <Money fen={r.discountInterest} currency={r.currency} />
                    </>
                  )}
                </Descriptions.Item>
                <Descriptions.Item label={t('registration.dates')}>
                  {r.financingDate} → {r.dueDate}
                </Descriptions.Item>
                <Descriptions.Item label={t('registration.onChain')}>
                  <Link to={`/explorer/blocks/${r.height}`}>#{r.height}</Link> · <Typography.Text code>{r.txId.slice(0, 16)}…</Typography.Text>
                </Descriptions.Item>
                {r.termsCommitment && (
                  <Descriptions.Item label={t('registration.commitment')}>
                    <Typography.Text code copyable={{ text: r.termsCommitment }}>
                      {r.termsCommitment.slice(0, 16)}…
                    </Typography.Text>
                  </Descriptions.Item>
                )}
              </Descriptions>
              <Button type="primary" onClick={() => downloadText(`${r.registrationNo}.json`, r.json, 'application/json;charset=utf-8')} aria-label={t('registration.download')}>
                {t('registration.download')}
              </Button>
            </Space>
          );
        }}
      </QueryView>
    </Modal>
  );
}
