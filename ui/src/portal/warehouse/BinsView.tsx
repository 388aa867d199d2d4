import { LineChart, ScatterChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import ReactEChartsCore from 'echarts-for-react/lib/core';
import { Card, Col, Empty, Row, Tag, Typography } from 'antd';
import { useEffect, useMemo, useState } from 'react';

import { DeviceReadingsDocument, DevicesDocument, IotAlertsDocument, type DevicesQuery } from '../../api/generated';
import { useQuery, useSubscription } from '../../api/hooks';
import { useI18n } from '../../i18n/I18nProvider';
import { excursions, isOutside } from '../../scan/excursions';
import { QueryView } from '../QueryView';
import { describeRule, readingLabel } from './alerts';
import { bands, limits, type Band } from './readings';

echarts.use([LineChart, ScatterChart, AriaComponent, GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent, CanvasRenderer]);

type Device = DevicesQuery['devices']['nodes'][number];

/** How far back the live charts reach, and how often they refresh. */
const WINDOW_MS = 15 * 60_000;
const REFRESH_MS = 5_000;

/** Warehouse bins: each device bound to a storage location, with its live readings against its thresholds. */
export function BinsView({ owner }: { owner?: string }) {
  const { t } = useI18n();
  const query = useQuery(DevicesDocument, { filter: { ...(owner ? { owner } : {}), bindingKind: 'WAREHOUSE_LOCATION' }, first: 100 });
  return (
    <QueryView query={query}>
      {(d) =>
        d.devices.nodes.length === 0 ? (
          <Empty description={t('bins.none')} />
        ) : (
          <Row gutter={[16, 16]}>
            {d.devices.nodes.map((dev) => (
              <Col key={dev.id} xs={24} xl={12}>
                <BinCard device={dev} />
              </Col>
            ))}
          </Row>
        )
      }
    </QueryView>
  );
}

function BinCard({ device }: { device: Device }) {
  const { t } = useI18n();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), REFRESH_MS);
    return () => clearInterval(id);
  }, []);
  // A new alert for this device: refresh at once rather than at the next tick.
  useSubscription(IotAlertsDocument, {}, (a) => {
    if (a.iotAlerts.deviceId === device.id) setNow(Date.now());
  });
  const query = useQuery(DeviceReadingsDocument, { id: device.id, fromMs: now - WINDOW_MS, toMs: now });
  const loc = device.binding.location;
  const series = useMemo(() => bands(query.data?.device.readings ?? [], device.rules), [query.data, device.rules]);
  const title = loc ? t('bins.title', { warehouse: loc.warehouse, zone: loc.zone, bin: loc.bin }) : device.id;
  return (
    <Card
      title={title}
      extra={
        <span>
          <Tag>{device.id}</Tag>
          {device.status === 'REVOKED' && <Tag color="red">{t('bins.revoked')}</Tag>}
        </span>
      }
    >
      <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
        {[device.binding.goods?.lot && t('bins.goods', { lot: device.binding.goods.lot }), ...device.rules.map((r) => describeRule(r, t))].filter(Boolean).join(' · ')}
      </Typography.Paragraph>
      <QueryView query={query} rows={3}>
        {() => (series.length === 0 ? <Empty description={t('bins.noReadings')} /> : series.map((b) => <ReadingsChart key={b.readingType} device={device.id} band={b} />))}
      </QueryView>
    </Card>
  );
}

/** A reading type's live chart: dashed threshold lines, excursions shaded and their readings in red. */
export function ReadingsChart({ device, band }: { device: string; band: Band }) {
  const { t, locale } = useI18n();
  const lim = limits(band);
  const exc = useMemo(() => excursions({ deviceId: device, quantity: band.readingType, unit: band.unit, ...lim, readings: band.readings }), [band, device, lim.min, lim.max]);
  const quantity = readingLabel(band.readingType, t);
  const latest = band.readings[band.readings.length - 1];
  const option = useMemo(
    () => ({
      animation: false,
      aria: { enabled: true },
      grid: { left: 44, right: 16, top: 24, bottom: 40 },
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0 },
      xAxis: { type: 'time', splitNumber: 4, axisLabel: { hideOverlap: true, formatter: '{HH}:{mm}:{ss}' } },
      yAxis: { type: 'value', name: band.unit, scale: true },
      series: [
        {
          name: quantity,
          type: 'line',
          showSymbol: false,
          data: band.readings.map((r) => [r.timeMs, r.value]),
          markLine: {
            symbol: 'none',
            lineStyle: { type: 'dashed', color: '#cf1322' },
            data: [
              ...(band.min !== null ? [{ yAxis: band.min, name: t('scan.coldChain.min') }] : []),
              ...(band.max !== null ? [{ yAxis: band.max, name: t('scan.coldChain.max') }] : []),
            ],
          },
          markArea: { itemStyle: { color: 'rgba(207, 19, 34, 0.12)' }, data: exc.map((e) => [{ xAxis: e.fromMs }, { xAxis: e.toMs }]) },
        },
        {
          name: t('scan.coldChain.excursion'),
          type: 'scatter',
          symbolSize: 6,
          itemStyle: { color: '#cf1322' },
          data: band.readings.filter((r) => isOutside(r, lim)).map((r) => [r.timeMs, r.value]),
        },
      ],
    }),
    [band, exc, quantity, t, lim.min, lim.max],
  );
  const bounds = [band.min !== null ? `≥ ${band.min}` : null, band.max !== null ? `≤ ${band.max}` : null].filter(Boolean).join(' ');
  return (
    <figure aria-label={t('bins.chartLabel', { quantity, device, bounds: bounds || '—', unit: band.unit, count: exc.length })} style={{ margin: 0 }}>
      <ReactEChartsCore echarts={echarts} key={locale} option={option} style={{ height: 220, width: '100%' }} notMerge lazyUpdate />
      <figcaption>
        {quantity}
        {latest && ` · ${t('bins.latest', { value: latest.value, unit: band.unit })}`}
        {bounds && ` · ${t('bins.band', { bounds, unit: band.unit })}`} ·{' '}
        {exc.length > 0 ? (
          <Typography.Text type="danger">{t('scan.coldChain.excursions', { count: exc.length })}</Typography.Text>
        ) : (
          t('scan.coldChain.noExcursion')
        )}
      </figcaption>
    </figure>
  );
}
