import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { App as AntApp } from 'antd';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { describe, expect, it } from 'vitest';

import { ApiProvider } from '../../api/ApiProvider';
import type { Session } from '../../api/types';
import { SessionProvider } from '../../auth/SessionProvider';
import { I18nProvider } from '../../i18n/I18nProvider';
import { fakeApi, type FakeApi } from '../../test/fakeApi';
import { voucher } from '../../test/vouchers';
import { OrgDirectoryProvider } from '../OrgDirectory';
import { VoucherPage } from './VoucherPage';

const session: Session = {
  token: 'tok',
  user: { id: 'u1', username: 'chen.jie', orgId: 'HLBRAKE', role: 'operator' },
  organisation: { id: 'HLBRAKE', name: '江苏恒力制动系统有限公司', roles: ['supplier'] },
};

const orgs = [
  { id: 'HLBRAKE', name: '江苏恒力制动系统有限公司', creditCode: 'x', roles: ['supplier'], status: 'active', approvedFunder: false },
  { id: 'JDCAST', name: '常州精锻铸造有限公司', creditCode: 'y', roles: ['supplier'], status: 'active', approvedFunder: false },
  { id: 'ICBC-SH', name: '工商银行上海分行', creditCode: 'z', roles: ['funder'], status: 'active', approvedFunder: true },
];

function renderPage(api: FakeApi, id: string) {
  return render(
    <I18nProvider locale="zh-CN">
      <AntApp>
        <ApiProvider api={api}>
          <SessionProvider initial={session}>
            <MemoryRouter initialEntries={[`/vouchers/${id}`]}>
              <OrgDirectoryProvider>
                <Routes>
                  <Route path="/vouchers/:id" element={<VoucherPage />} />
                </Routes>
              </OrgDirectoryProvider>
            </MemoryRouter>
          </SessionProvider>
        </ApiProvider>
      </AntApp>
    </I18nProvider>,
  );
}

describe('voucher page', () => {
  it('draws the lineage tree and splits with a live sum check, sending integer fen', async () => {
    const v = voucher({ id: 'HSY-2026-0004', amount: 80000000, dueDate: '2099-05-10' });
    let split = false;
    const parts = [
      voucher({ id: 'HSY-2026-0004.1', amount: 50000010 }),
      voucher({ id: 'HSY-2026-0004.2', amount: 29999990, holder: 'JDCAST', status: 'PENDING', pendingFrom: 'HLBRAKE' }),
    ];
    const api = fakeApi({
      Organisations: () => ({ organisations: orgs }),
      Voucher: () =>
        split ? { voucher: { ...v, status: 'SPLIT', lineage: [{ ...v, status: 'SPLIT' }, ...parts] } } : { voucher: { ...v, lineage: [v] } },
      SplitVoucher: () => {
        split = true;
        return { splitVoucher: { txId: 'ab', height: 42 } };
      },
    });
    renderPage(api, v.id);
    const toolbar = await screen.findByRole('toolbar', { name: '可执行操作' });
    expect(screen.getByRole('tree')).toBeTruthy();
    fireEvent.click(within(toolbar).getByRole('button', { name: '拆分转让' }));
    const form = await screen.findByRole('form', { name: '拆分转让' });

    // Part 2's recipient.
    const recipient = within(form).getByRole('combobox', { name: '第 2 部分接收方' });
    fireEvent.mouseDown(recipient);
    fireEvent.click(await screen.findByTitle('常州精锻铸造有限公司'));

    fireEvent.change(within(form).getByRole('textbox', { name: '第 1 部分金额（元）' }), { target: { value: '500000.1' } });
    fireEvent.change(within(form).getByRole('textbox', { name: '第 2 部分金额（元）' }), { target: { value: '299999.8' } });
    const submit = within(form).getByRole('button', { name: '提交拆分' }) as HTMLButtonElement;
    expect(screen.getByTestId('split-sum').textContent).toContain('少 ¥0.10');
    expect(submit.disabled).toBe(true);

    fireEvent.change(within(form).getByRole('textbox', { name: '第 2 部分金额（元）' }), { target: { value: '299,999.90' } });
    expect(screen.getByTestId('split-sum').textContent).toContain('与凭证金额 ¥800,000.00 相等');
    expect(submit.disabled).toBe(false);
    fireEvent.click(submit);
    await waitFor(() => expect(api.calls.some((c) => c.op === 'SplitVoucher')).toBe(true));
    const call = api.calls.find((c) => c.op === 'SplitVoucher')!;
    expect(call.variables).toEqual({
      voucherId: 'HSY-2026-0004',
      parts: [
        { to: 'HLBRAKE', amount: 50000010 },
        { to: 'JDCAST', amount: 29999990 },
      ],
    });
    expect(call.token).toBe('tok');
    expect(await screen.findByText(/已上链（区块 #42）/)).toBeTruthy();
    // The lineage tree is redrawn with the new parts, expanded. It is remounted (a new element), so
    // look it up afresh on every attempt: an element taken before the refetch lands never changes.
    await waitFor(() => expect(within(screen.getByRole('tree')).getByText('HSY-2026-0004.2')).toBeTruthy());
  });

  it('shows the error and a retry button when the voucher cannot be loaded', async () => {
    const api = fakeApi({
      Organisations: () => ({ organisations: orgs }),
      Voucher: () => {
        throw new Error('voucher not found');
      },
    });
    renderPage(api, 'NOPE');
    expect(await screen.findByText('加载失败')).toBeTruthy();
    expect(screen.getByRole('button', { name: /重\s*试/ })).toBeTruthy();
  });
});
