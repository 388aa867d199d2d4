import { BarChart } from 'echarts/charts';
import { AriaComponent, GridComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import ReactEChartsCore from 'echarts-for-react/lib/core';
import { Table } from 'antd';

import { VouchersDocument, type VoucherFieldsFragment } from '../../api/generated';
import { useQuery } from '../../api/hooks';
import { useI18n } from '../../i18n/I18nProvider';
import { formatFen } from '../../money/fen';
import { Money } from '../Money';
import { QueryView } from '../QueryView';

echarts.use([BarChart, AriaComponent, GridComponent, TooltipComponent, CanvasRenderer]);

export interface TierTotal {
  tier: number;
  count: number;
  fen: bigint;
}

/** Live (pending or active) voucher amounts by tier, exactly in fen. */
export function outstandingByTier(vouchers: readonly VoucherFieldsFragment[]): TierTotal[] {
  const by = new Map<number, TierTotal>();
  for (const v of vouchers) {
    if (v.status !== 'ACTIVE' && v.status !== 'PENDING') continue;
    const tier = v.depth + 1;
    const cur = by.get(tier) ?? { tier, count: 0, fen: 0n };
    cur.count += 1;
    cur.fen += BigInt(v.amount);
    by.set(tier, cur);
  }
  return [...by.values()].sort((a, b) => a.tier - b.tier);
}

/** Outstanding amounts per supplier tier of the vouchers the core enterprise issued. */
export function OutstandingByTier({ issuer }: { issuer: string }) {
  const { t, locale } = useI18n();
  const query = useQuery(VouchersDocument, { first: 100 });
  return (
    <QueryView query={query}>
      {(d) => {
        const totals = outstandingByTier(d.vouchers.nodes.filter((v) => v.issuer === issuer));
        const option = {
          animation: false,
          aria: { enabled: true },
          grid: { left: 80, right: 16, top: 16, bottom: 32 },
          tooltip: { trigger: 'axis', valueFormatter: (v: number) => `¥${v.toLocaleString(locale, { minimumFractionDigits: 2 })}` },
          xAxis: { type: 'category', data: totals.map((x) => t('voucher.tierN', { n: x.tier })) },
          yAxis: { type: 'value', name: t('core.yuan') },
          // The chart's bar heights only; the table below shows exact amounts.
          series: [{ type: 'bar', data: totals.map((x) => Number(x.fen) / 100), itemStyle: { color: '#1d4ed8' } }],
        };
        return (
          <>
            <figure aria-label={t('core.outstandingChart')} style={{ margin: 0 }}>
              <ReactEChartsCore echarts={echarts} option={option} style={{ height: 280 }} notMerge key={locale} />
            </figure>
            <Table<TierTotal>
              rowKey="tier"
              size="small"
              pagination={false}
              dataSource={totals}
              aria-label={t('core.outstanding')}
              columns={[
                { title: t('voucher.tier'), dataIndex: 'tier', render: (n: number) => t('voucher.tierN', { n }) },
                { title: t('core.count'), dataIndex: 'count' },
                { title: t('core.outstandingAmount'), key: 'fen', align: 'right', render: (_, x) => <Money fen={x.fen} /> },
              ]}
              summary={() => (
                <Table.Summary.Row>
                  <Table.Summary.Cell index={0}>{t('core.total')}</Table.Summary.Cell>
                  <Table.Summary.Cell index={1}>{totals.reduce((s, x) => s + x.count, 0)}</Table.Summary.Cell>
                  <Table.Summary.Cell index={2} align="right">
                    ¥{formatFen(totals.reduce((s, x) => s + x.fen, 0n))}
                  </Table.Summary.Cell>
                </Table.Summary.Row>
              )}
            />
          </>
        );
      }}
    </QueryView>
  );
}
