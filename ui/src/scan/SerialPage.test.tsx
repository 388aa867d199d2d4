import { render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { describe, expect, it } from 'vitest';

import { ApiProvider } from '../api/ApiProvider';
import type { ScfApi, SerialPage as SerialPageData } from '../api/types';
import { I18nProvider } from '../i18n/I18nProvider';
import { fakeApi } from '../test/fakeApi';
import { coarsen, SerialPage } from './SerialPage';

function page(over: Partial<SerialPageData> = {}): SerialPageData {
  return {
    gtin: '06901234000337',
    serial: 'Y0001',
    lot: 'Y260302',
    product: { gtin: '06901234000337', name: '原味酸奶 200g', brand: null },
    known: true,
    scanCount: 2,
    firstScanMs: Date.UTC(2026, 2, 6, 2),
    scans: [
      { timeMs: Date.UTC(2026, 2, 6, 2), latitude: 31.23, longitude: 121.47 },
      { timeMs: Date.UTC(2026, 2, 6, 2, 5), latitude: 39.9, longitude: 116.41 },
    ],
    copyWarnings: [],
    lotWarnings: [],
    ...over,
  };
}

function renderAt(path: string, api: ScfApi) {
  return render(
    <I18nProvider locale="zh-CN">
      <ApiProvider api={api}>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path="/01/:gtin/21/:serial" element={<SerialPage />} />
            <Route path="/01/:gtin/10/:lot/21/:serial" element={<SerialPage />} />
          </Routes>
        </MemoryRouter>
      </ApiProvider>
    </I18nProvider>,
  );
}

/** An API whose `scanSerial` answers `p` and records what it was asked. */
function serialApi(p: SerialPageData, asked: unknown[] = []): ScfApi {
  return fakeApi({
    ScanSerial: (vars) => {
      asked.push(vars);
      return { scanSerial: p };
    },
  });
}

describe('serial page', () => {
  it('coarsens a position to about a kilometre before sending it', () => {
    expect(coarsen(31.230449, 121.473701)).toEqual({ latitude: 31.23, longitude: 121.47 });
  });

  it('shows the copy warning, the scan count and each scan', async () => {
    const asked: unknown[] = [];
    const api = serialApi(page({ copyWarnings: [{ kind: 'impossible_travel', distanceKm: 1067, minutes: 5, count: null, lot: null }] }), asked);
    renderAt('/01/06901234000337/10/Y260302/21/Y0001', api);
    expect(await screen.findByText('警告：此标签可能被复制', {}, { timeout: 15000 })).toBeTruthy();
    expect(screen.getByText('同一序列号在 5 分钟内于相距约 1067 公里的两地被扫描，正品不可能如此移动')).toBeTruthy();
    expect(screen.getByText('本序列号已被扫描 2 次')).toBeTruthy();
    expect(screen.getByText('约 39.90, 116.41（约 1 公里精度）')).toBeTruthy();
    expect(screen.queryByText('未发现仿冒迹象')).toBeNull();
    expect(asked[0]).toMatchObject({ gtin: '06901234000337', serial: 'Y0001', lot: 'Y260302' });
  });

  it('says nothing looks copied when nothing does', async () => {
    renderAt('/01/06901234000337/21/Y0001', serialApi(page()));
    expect(await screen.findByText('未发现仿冒迹象', {}, { timeout: 15000 })).toBeTruthy();
    expect(screen.queryByTestId('copy-warning')).toBeNull();
  });

  it('refuses a bad link without calling the API', async () => {
    const asked: unknown[] = [];
    renderAt('/01/06901234000338/21/Y0001', serialApi(page(), asked));
    expect(await screen.findByText(/二维码链接无效/)).toBeTruthy();
    expect(asked).toHaveLength(0);
  });
});
