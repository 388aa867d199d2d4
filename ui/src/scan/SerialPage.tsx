import { WarningFilled } from '@ant-design/icons';
import { Alert, Card, List, Result, Skeleton, Space, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router-dom';

import { useApi } from '../api/ApiProvider';
import { describeError } from '../api/errors';
import { ScanSerialDocument } from '../api/generated';
import type { CopyWarning, SerialPage as SerialPageData } from '../api/types';
import { formatTime } from '../explorer/format';
import { useI18n, type Translate } from '../i18n/I18nProvider';
import { isValidGtin14, isValidLot, lotPath } from './digitalLink';
import { LotWarnings } from './LotWarnings';
import { ScanShell } from './ScanPage';

/** A position rounded to 0.01° (≈ 1 km) before it leaves the phone; the server coarsens it again. */
export function coarsen(lat: number, lon: number): { latitude: number; longitude: number } {
  return { latitude: Math.round(lat * 100) / 100, longitude: Math.round(lon * 100) / 100 };
}

/** The browser's position if the consumer allows it within a few seconds; otherwise none. */
function locate(): Promise<{ latitude: number; longitude: number } | null> {
  if (typeof navigator === 'undefined' || !navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) => resolve(coarsen(p.coords.latitude, p.coords.longitude)),
      () => resolve(null),
      { enableHighAccuracy: false, timeout: 8000, maximumAge: 60_000 },
    );
  });
}

type Load = { state: 'locating' } | { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'ready'; page: SerialPageData };

/** The page a serialised item's QR code opens: `/01/{gtin}/21/{serial}` or `/01/{gtin}/10/{lot}/21/{serial}`. */
export function SerialPage() {
  const { gtin = '', serial = '', lot } = useParams();
  const { t } = useI18n();
  if (!isValidGtin14(gtin) || !isValidLot(serial) || (lot !== undefined && !isValidLot(lot))) {
    const reason = !isValidGtin14(gtin) ? t('scan.invalid.gtin') : !isValidLot(serial) ? t('serial.invalid.serial') : t('scan.invalid.lot');
    return (
      <ScanShell title={t('serial.title')}>
        <Result status="warning" title={t('scan.invalidLink', { reason })} />
      </ScanShell>
    );
  }
  return <SerialView gtin={gtin} serial={serial} lot={lot ?? null} />;
}

function SerialView({ gtin, serial, lot }: { gtin: string; serial: string; lot: string | null }) {
  const api = useApi();
  const { t } = useI18n();
  const [load, setLoad] = useState<Load>({ state: 'locating' });
  // One scan per page view (React may run an effect twice in development).
  const sent = useRef(false);
  useEffect(() => {
    if (sent.current) return;
    sent.current = true;
    void (async () => {
      const location = await locate();
      setLoad({ state: 'loading' });
      try {
        const d = await api.request(ScanSerialDocument, { gtin, serial, lot, location });
        setLoad({ state: 'ready', page: d.scanSerial });
      } catch (error) {
        setLoad({ state: 'error', error });
      }
    })();
  }, [api, gtin, serial, lot]);

  if (load.state !== 'ready' && load.state !== 'error') {
    return (
      <ScanShell title={t('serial.title')}>
        <div role="status" aria-live="polite" aria-label={t('state.loading')}>
          {load.state === 'locating' && <Typography.Paragraph type="secondary">{t('serial.locating')}</Typography.Paragraph>}
          <Skeleton active paragraph={{ rows: 5 }} />
        </div>
      </ScanShell>
    );
  }
  if (load.state === 'error') {
    return (
      <ScanShell title={t('serial.title')}>
        <Result status="error" title={t('state.error')} subTitle={describeError(load.error, t)} />
      </ScanShell>
    );
  }
  return (
    <ScanShell title={t('serial.title')}>
      <SerialDetails page={load.page} />
    </ScanShell>
  );
}

export function copyWarningText(w: CopyWarning, t: Translate): string {
  switch (w.kind) {
    case 'impossible_travel':
      return t('serial.copy.impossible_travel', { km: w.distanceKm ?? '?', minutes: w.minutes ?? '?' });
    case 'too_many_scans':
      return t('serial.copy.too_many_scans', { count: w.count ?? '?' });
    case 'spread':
      return t('serial.copy.spread', { count: w.count ?? '?' });
    case 'unknown_serial':
      return t('serial.copy.unknown_serial');
    case 'lot_mismatch':
      return t('serial.copy.lot_mismatch', { lot: w.lot ?? '?' });
    default:
      return w.kind;
  }
}

export function SerialDetails({ page }: { page: SerialPageData }) {
  const { t, locale } = useI18n();
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      {page.copyWarnings.length > 0 && (
        <Alert
          type="error"
          showIcon
          icon={<WarningFilled />}
          role="alert"
          data-testid="copy-warning"
          message={<strong style={{ fontSize: 16 }}>{t('serial.copy.title')}</strong>}
          description={
            <ul style={{ margin: 0, paddingInlineStart: 18 }}>
              {page.copyWarnings.map((w) => (
                <li key={w.kind}>{copyWarningText(w, t)}</li>
              ))}
            </ul>
          }
        />
      )}
      <LotWarnings warnings={page.lotWarnings} />
      {page.copyWarnings.length === 0 && <Alert type="success" showIcon message={t('serial.ok')} role="status" />}
      <Card title={page.product.name} aria-label={t('scan.product')}>
        <dl className="scf-facts">
          <dt>{t('scan.gtin')}</dt>
          <dd>{page.gtin}</dd>
          <dt>{t('serial.serial')}</dt>
          <dd>{page.serial}</dd>
          {page.lot && (
            <>
              <dt>{t('scan.lot')}</dt>
              <dd>
                <Link to={lotPath(page.gtin, page.lot)}>{page.lot}</Link> · <Link to={lotPath(page.gtin, page.lot)}>{t('serial.lotLink')}</Link>
              </dd>
            </>
          )}
        </dl>
      </Card>
      <Card title={t('serial.scans')}>
        <Typography.Paragraph strong data-testid="scan-count">
          {t('serial.count', { count: page.scanCount })}
        </Typography.Paragraph>
        {page.firstScanMs != null && <Typography.Paragraph type="secondary">{t('serial.first', { time: formatTime(page.firstScanMs, locale) })}</Typography.Paragraph>}
        <List
          size="small"
          dataSource={[...page.scans].reverse()}
          renderItem={(s, i) => (
            <List.Item key={`${s.timeMs}-${i}`}>
              <span>{formatTime(s.timeMs, locale)}</span>
              <Typography.Text type="secondary">
                {s.latitude != null && s.longitude != null ? t('serial.scan.place', { lat: s.latitude.toFixed(2), lon: s.longitude.toFixed(2) }) : t('serial.scan.noPlace')}
              </Typography.Text>
            </List.Item>
          )}
        />
      </Card>
    </Space>
  );
}
