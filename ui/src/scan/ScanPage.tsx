import { Button, Card, Empty, Flex, List, Result, Skeleton, Space, Tag, Timeline, Tooltip, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useParams } from 'react-router-dom';

import { useApi } from '../api/ApiProvider';
import { describeError } from '../api/errors';
import type { LotPage, TraceStep } from '../api/types';
import { formatTime } from '../explorer/format';
import { useI18n } from '../i18n/I18nProvider';
import { LanguageSwitch } from '../layout/LanguageSwitch';
import { ColdChainChart } from './ColdChainChart';
import { checkLotLink } from './digitalLink';
import { describeFailure } from './failure';
import { LotWarnings } from './LotWarnings';
import { useVerification, type StepVerification } from './useVerification';
import { VerifiedBadge } from './VerifiedBadge';

type Load = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'missing' } | { state: 'ready'; page: LotPage };

/** The public consumer page a lot's QR code opens: `/01/{gtin14}/10/{lot}`. Mobile first. */
export function ScanPage() {
  const { gtin = '', lot = '' } = useParams();
  const { t } = useI18n();
  const linkError = checkLotLink(gtin, lot);
  if (linkError) {
    return (
      <ScanShell>
        <Result
          status="warning"
          title={t('scan.invalidLink', { reason: t(linkError === 'gtin' ? 'scan.invalid.gtin' : 'scan.invalid.lot') })}
        />
      </ScanShell>
    );
  }
  return <LotView gtin={gtin} lot={lot} />;
}

export function ScanShell({ children, title }: { children: React.ReactNode; title?: string }) {
  const { t } = useI18n();
  return (
    <main style={{ maxWidth: 720, margin: '0 auto', padding: 12 }} aria-labelledby="scan-title">
      <Flex justify="space-between" align="center" wrap gap={8}>
        <Typography.Title id="scan-title" level={3} style={{ margin: 0 }}>
          {title ?? t('scan.title')}
        </Typography.Title>
        <LanguageSwitch />
      </Flex>
      <div style={{ marginTop: 12 }}>{children}</div>
    </main>
  );
}

function LotView({ gtin, lot }: { gtin: string; lot: string }) {
  const api = useApi();
  const { t } = useI18n();
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const fetchPage = useCallback(() => {
    let cancelled = false;
    setLoad({ state: 'loading' });
    api
      .lotPage(gtin, lot)
      .then((page) => !cancelled && setLoad(page ? { state: 'ready', page } : { state: 'missing' }))
      .catch((error: unknown) => !cancelled && setLoad({ state: 'error', error }));
    return () => {
      cancelled = true;
    };
  }, [api, gtin, lot]);
  useEffect(fetchPage, [fetchPage]);

  if (load.state === 'loading') {
    return (
      <ScanShell>
        <div role="status" aria-live="polite" aria-label={t('state.loading')}>
          <Skeleton active paragraph={{ rows: 6 }} />
        </div>
      </ScanShell>
    );
  }
  if (load.state === 'error') {
    return (
      <ScanShell>
        <Result
          status="error"
          title={t('state.error')}
          subTitle={describeError(load.error, t)}
          extra={<Button onClick={fetchPage}>{t('state.retry')}</Button>}
        />
      </ScanShell>
    );
  }
  if (load.state === 'missing') {
    return (
      <ScanShell>
        <Result status="404" title={t('state.notFound')} subTitle={`${gtin} · ${lot}`} />
      </ScanShell>
    );
  }
  return (
    <ScanShell>
      <LotDetails page={load.page} />
    </ScanShell>
  );
}

function LotDetails({ page }: { page: LotPage }) {
  const { t } = useI18n();
  const verification = useVerification(page.steps);
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <LotWarnings warnings={page.warnings} />
      <Card title={page.product.name} aria-label={t('scan.product')}>
        <dl className="scf-facts">
          <dt>{t('scan.gtin')}</dt>
          <dd>{page.product.gtin}</dd>
          <dt>{t('scan.lot')}</dt>
          <dd>{page.lot.number}</dd>
          {page.origin && (
            <>
              <dt>{t('scan.origin')}</dt>
              <dd>{[page.origin.name, page.origin.region].filter(Boolean).join(' · ')}</dd>
            </>
          )}
          {page.lot.producedOn && (
            <>
              <dt>{t('scan.producedOn')}</dt>
              <dd>{page.lot.producedOn}</dd>
            </>
          )}
          {page.lot.expiresOn && (
            <>
              <dt>{t('scan.expiresOn')}</dt>
              <dd>{page.lot.expiresOn}</dd>
            </>
          )}
        </dl>
      </Card>
      <VerifiedBadge verification={verification} warned={page.warnings.some((w) => w.kind === 'recall' || w.status === 'open')} />
      <Card title={t('scan.timeline')}>
        <Timeline
          items={page.steps.map((s) => ({
            key: s.id,
            color: stepColor(verification.steps[s.id]),
            children: <StepItem step={s} result={verification.steps[s.id]} />,
          }))}
        />
      </Card>
      <Card title={t('scan.coldChain')}>
        {page.sensors.length === 0 ? (
          <Empty description={t('scan.coldChain.none')} />
        ) : (
          page.sensors.map((s) => <ColdChainChart key={s.deviceId} series={s} />)
        )}
      </Card>
      <Card title={t('scan.certificates')}>
        {page.certificates.length === 0 ? (
          <Empty description={t('scan.certificates.none')} />
        ) : (
          <List
            dataSource={page.certificates}
            renderItem={(c) => (
              <List.Item key={c.id}>
                <List.Item.Meta
                  title={c.name}
                  description={[
                    t('scan.certificate.issuer', { issuer: c.issuer }),
                    c.validUntil ? t('scan.certificate.valid', { date: c.validUntil }) : null,
                  ]
                    .filter(Boolean)
                    .join(' · ')}
                />
              </List.Item>
            )}
          />
        )}
      </Card>
    </Space>
  );
}

function stepColor(r: StepVerification | undefined): string {
  if (r === undefined) return 'gray';
  if (r.verified === true) return 'green';
  if (r.verified === false) return 'red';
  return 'gray';
}

/** Status tags carry sentences: let them wrap on a phone instead of overflowing the card. */
const WRAP: React.CSSProperties = { whiteSpace: 'normal', maxWidth: '100%' };

/** An EPCIS event time (ISO 8601) in China Standard Time, as the reader's language writes it. */
export function eventTime(iso: string, locale: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : formatTime(ms, locale);
}

function StepItem({ step, result }: { step: TraceStep; result: StepVerification | undefined }) {
  const { t, locale } = useI18n();
  let status: React.ReactNode = null;
  if (result?.verified === true) {
    status = <Tag color="success" style={WRAP}>{t('verify.step.ok', { height: result.height })}</Tag>;
  } else if (result?.verified === false) {
    status = <Tag color="error" style={WRAP}>{t('verify.step.failed', { reason: describeFailure(result.failure, t) })}</Tag>;
  } else if (result?.verified === 'none') {
    status = <Tag style={WRAP}>{t('verify.step.none')}</Tag>;
  }
  return (
    <article aria-label={`${step.bizStep} ${step.eventTime}`}>
      <Typography.Text strong>{bizStepName(step.bizStep, locale)}</Typography.Text>{' '}
      <Typography.Text type="secondary">
        <time dateTime={step.eventTime}>{eventTime(step.eventTime, locale)}</time>
      </Typography.Text>
      <div>{t('scan.recordedBy', { org: step.recordedBy.orgName })}</div>
      {step.location && <StepLocation step={step} />}
      <div>{status}</div>
    </article>
  );
}

/** A step's place by name (GLN master data on chain), the raw identifier in a tooltip and small text. */
function StepLocation({ step }: { step: TraceStep }) {
  const { t } = useI18n();
  if (!step.location) return null;
  if (!step.locationName) return <div>{t('scan.step.location', { location: step.location })}</div>;
  return (
    <div>
      <Tooltip title={[step.locationAddress, step.location].filter(Boolean).join(' · ')}>
        <span data-testid="step-location">{t('scan.step.location', { location: step.locationName })}</span>
      </Tooltip>
      <div>
        <Typography.Text type="secondary" style={{ fontSize: 11, wordBreak: 'break-all' }}>
          {t('scan.step.locationId', { id: step.location })}
        </Typography.Text>
      </div>
    </div>
  );
}

/** CBV 2.0 business steps as a consumer reads them; unknown steps are shown as recorded. */
const CBV_STEPS: Record<string, [zh: string, en: string]> = {
  commissioning: ['生产赋码', 'Produced'],
  receiving: ['收货', 'Received'],
  accepting: ['验收', 'Accepted'],
  inspecting: ['检验', 'Inspected'],
  packing: ['包装', 'Packed'],
  unpacking: ['拆包', 'Unpacked'],
  assembling: ['装托', 'Palletised'],
  disassembling: ['拆托', 'De-palletised'],
  loading: ['装车', 'Loaded'],
  unloading: ['卸车', 'Unloaded'],
  shipping: ['发货', 'Shipped'],
  departing: ['出发', 'Departed'],
  arriving: ['到达', 'Arrived'],
  transporting: ['冷链运输', 'In transit'],
  storing: ['入库存储', 'Stored'],
  stocking: ['上架', 'Stocked'],
  retail_selling: ['零售', 'Sold'],
  sensor_reporting: ['传感器记录', 'Sensor report'],
  creating_class_instance: ['批次生产', 'Lot produced'],
};

export function bizStepName(bizStep: string, locale: string): string {
  const names = CBV_STEPS[bizStep];
  if (!names) return bizStep;
  return locale === 'en' ? names[1] : names[0];
}
