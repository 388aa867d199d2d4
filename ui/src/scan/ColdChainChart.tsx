import { LineChart, ScatterChart } from 'echarts/charts';
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import ReactEChartsCore from 'echarts-for-react/lib/core';
import { useMemo } from 'react';

import type { SensorSeries } from '../api/types';
import { useI18n } from '../i18n/I18nProvider';
import { excursions, isOutside } from './excursions';
import { displayUnit } from './units';

// Only what the chart uses, so the consumer page stays small on a phone.
echarts.use([
  LineChart,
  ScatterChart,
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
  CanvasRenderer,
]);

/** One device's readings with its threshold band; readings outside the band are drawn red. */
export function ColdChainChart({ series: raw }: { series: SensorSeries }) {
  const { t, locale } = useI18n();
  const series = useMemo(() => ({ ...raw, unit: displayUnit(raw.unit) }), [raw]);
  const quantity = series.quantity === 'humidity' ? t('reading.humidity') : t('reading.temperature');
  const exc = useMemo(() => excursions(series), [series]);
  const option = useMemo(() => {
    const data = [...series.readings].sort((a, b) => a.timeMs - b.timeMs);
    return {
      animation: false,
      aria: { enabled: true },
      grid: { left: 40, right: 16, top: 24, bottom: 48 },
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0 },
      // A phone is narrow: fewer, non-overlapping time labels.
      xAxis: { type: 'time', splitNumber: 3, axisLabel: { hideOverlap: true, formatter: '{HH}:{mm}' } },
      yAxis: { type: 'value', name: series.unit, scale: true },
      series: [
        {
          name: t('scan.coldChain.series'),
          type: 'line',
          showSymbol: false,
          data: data.map((r) => [r.timeMs, r.value]),
          markLine: {
            symbol: 'none',
            lineStyle: { type: 'dashed', color: '#cf1322' },
            data: [
              { yAxis: series.min, name: t('scan.coldChain.min') },
              { yAxis: series.max, name: t('scan.coldChain.max') },
            ],
          },
          markArea: {
            itemStyle: { color: 'rgba(207, 19, 34, 0.12)' },
            data: exc.map((e) => [{ xAxis: e.fromMs }, { xAxis: e.toMs }]),
          },
        },
        {
          name: t('scan.coldChain.excursion'),
          type: 'scatter',
          symbolSize: 6,
          itemStyle: { color: '#cf1322' },
          data: data.filter((r) => isOutside(r, series)).map((r) => [r.timeMs, r.value]),
        },
      ],
    };
  }, [series, exc, t]);
  const label = t('scan.coldChain.chartLabel', {
    quantity,
    device: series.deviceId,
    min: series.min,
    max: series.max,
    unit: series.unit,
    count: exc.length,
  });
  return (
    <figure aria-label={label} style={{ margin: 0 }}>
      <ReactEChartsCore echarts={echarts} key={locale} option={option} style={{ height: 260, width: '100%' }} notMerge lazyUpdate />
      <figcaption>
        {quantity} · {t('scan.coldChain.device', { device: series.deviceId })} ·{' '}
        {t('scan.coldChain.threshold', { min: series.min, max: series.max, unit: series.unit })} ·{' '}
        {exc.length > 0 ? t('scan.coldChain.excursions', { count: exc.length }) : t('scan.coldChain.noExcursion')}
      </figcaption>
    </figure>
  );
}
