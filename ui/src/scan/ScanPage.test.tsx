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
function lotPage(tamper = false): LotPage {
  return {
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
        location: null,
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
