import { render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { describe, expect, it } from 'vitest';

import { ApiProvider } from '../api/ApiProvider';
import type { LotPage, ScfApi } from '../api/types';
import { fakeApi } from '../test/fakeApi';
import { I18nProvider } from '../i18n/I18nProvider';
import { fixture, fixtureBundle } from '../verify/fixture';
import { ScanPage } from './ScanPage';

/** A lot page whose steps carry the real proofs of the fixture chain. */
function lotPage(tamper = false, warnings: LotPage['warnings'] = []): LotPage {
  return {
    warnings,
    product: { gtin: '06901234000337', name: '原味酸奶 200g', brand: null },
    lot: { number: 'Y260302', producedOn: '2026-03-02', expiresOn: '2026-03-23' },
    origin: { name: '示例牧场', region: '内蒙古' },
    steps: fixture.events.map((e, i) => {
      const b = fixtureBundle(i);
      // As the API serves it: numbers, and null (not absent) for missing parts.
      const proof = {
        ...b,
        txProof: b.txProof ?? null,
        certificate: b.certificate && { ...b.certificate, height: Number(b.certificate.height) },
        validators: b.validators.map((v) => ({ ...v, power: Number(v.power) })),
      };
      return {
        id: e.tx_id,
        bizStep: `step-${i}`,
        eventTime: `2026-03-0${i + 1}T08:00:00+08:00`,
        location: i === 0 ? 'urn:epc:id:sgln:6901234.00002.0' : null,
        locationName: i === 0 ? '沪光乳业 松江工厂' : null,
        locationAddress: null,
        recordedBy: { orgId: e.recorded_by, orgName: `${e.recorded_by} 有限公司` },
        eventHash: e.event_hash,
        proof: tamper && i === 1 ? { ...proof, receiptHex: proof.receiptHex.replace(/.$/, (c) => (c === '0' ? '1' : '0')) } : proof,
      };
    }),
    sensors: [],
    certificates: [{ id: 'c1', name: '有机认证', issuer: '认证机构', validUntil: '2027-01-01' }],
  };
}

function renderAt(path: string, api: ScfApi) {
  return render(
    <I18nProvider locale="zh-CN">
      <ApiProvider api={api}>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path="/01/:gtin/10/:lot" element={<ScanPage />} />
          </Routes>
        </MemoryRouter>
      </ApiProvider>
    </I18nProvider>,
  );
}

const api = (page: LotPage | null | Error): ScfApi =>
  fakeApi({}, { lotPage: () => (page instanceof Error ? Promise.reject(page) : Promise.resolve(page)) });

describe('consumer scan page', () => {
  it('shows the lot, who recorded each step, and the verified badge computed in the browser', async () => {
    renderAt('/01/06901234000337/10/Y260302', api(lotPage()));
    expect(await screen.findByText('原味酸奶 200g', {}, { timeout: 5000 })).toBeTruthy();
    expect(screen.getAllByText(/记录方：DAIRY 有限公司/).length).toBeGreaterThan(0);
    // Five SM2 verifications in pure JS: allow for a slow, shared CI machine.
    await waitFor(() => expect(screen.getByText('已上链验证')).toBeTruthy(), { timeout: 15000 });
    expect(screen.getAllByText(`本记录已在区块 #${fixture.block.header.height} 上链并经验证`)).toHaveLength(fixture.events.length);
    expect(screen.getByText('有机认证')).toBeTruthy();
  });

  it('names the location and keeps its raw identifier visible', async () => {
    renderAt('/01/06901234000337/10/Y260302', api(lotPage()));
    expect(await screen.findByText('地点：沪光乳业 松江工厂', {}, { timeout: 5000 })).toBeTruthy();
    expect(screen.getByText('标识：urn:epc:id:sgln:6901234.00002.0')).toBeTruthy();
  });

  it('puts a recall and an IoT alert above everything, and the badge no longer reads as all fine', async () => {
    const warnings: LotPage['warnings'] = [
      { kind: 'recall', reason: '李斯特菌检出', timeMs: Date.UTC(2026, 2, 20, 2), height: 77, recordedBy: { orgId: 'HGDAIRY', orgName: '沪光乳业有限公司' }, reference: 'ab', deviceId: null, status: 'open', clearedReason: null, byRegulator: false },
      { kind: 'cold_chain_alert', reason: '11.5 °C 持续 25 秒', timeMs: Date.UTC(2026, 2, 5, 2), height: 60, recordedBy: { orgId: 'SFCOLD', orgName: '顺丰冷运物流有限公司' }, reference: 'SFCOLD-RF-0301#1', deviceId: 'SFCOLD-RF-0301', status: 'open', clearedReason: null, byRegulator: false },
    ];
    const { container } = renderAt('/01/06901234000337/10/Y260302', api(lotPage(false, warnings)));
    expect(await screen.findByText('本批次已召回，请勿食用或使用', {}, { timeout: 5000 })).toBeTruthy();
    expect(screen.getByText('本批次冷链异常告警')).toBeTruthy();
    expect(screen.getByText('情况：李斯特菌检出')).toBeTruthy();
    expect(screen.getByText('记录方：沪光乳业有限公司')).toBeTruthy();
    expect(screen.getByText(/时间：2026\/3\/20 10:00:00（区块 #77）/)).toBeTruthy();
    // Above the product card.
    const region = screen.getByRole('region', { name: '批次警示' });
    const product = screen.getByLabelText('产品');
    expect(region.compareDocumentPosition(product) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    await waitFor(() => expect(screen.getByText('记录已上链验证，但本批次有警示，见上方')).toBeTruthy(), { timeout: 15000 });
    expect(screen.queryByText('已上链验证')).toBeNull();
    expect(container.querySelector('.ant-alert-success')).toBeNull();
  });

  it('shows which record failed when one proof was tampered with', async () => {
    renderAt('/01/06901234000337/10/Y260302', api(lotPage(true)));
    await waitFor(() => expect(screen.getByText('部分记录验证未通过')).toBeTruthy(), { timeout: 15000 });
    expect(screen.getByText(/本记录验证未通过/)).toBeTruthy();
  });

  it('refuses an invalid Digital Link without calling the API', async () => {
    let called = false;
    renderAt(
      '/01/06901234000338/10/Y260302',
      fakeApi({}, {
        lotPage: () => {
          called = true;
          return Promise.resolve(null);
        },
      }),
    );
    expect(await screen.findByText(/二维码链接无效/)).toBeTruthy();
    expect(called).toBe(false);
  });

  it('shows an error with a retry button when the API fails', async () => {
    renderAt('/01/06901234000337/10/Y260302', api(new Error('boom')));
    expect(await screen.findByText('加载失败')).toBeTruthy();
    expect(screen.getByRole('button', { name: /重\s*试/ })).toBeTruthy();
  });

  it('shows not found for an unknown lot', async () => {
    renderAt('/01/06901234000337/10/NOPE', api(null));
    expect(await screen.findByText('未找到')).toBeTruthy();
  });
});
