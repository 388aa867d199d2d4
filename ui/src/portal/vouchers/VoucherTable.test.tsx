import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { App as AntApp } from 'antd';
import { MemoryRouter } from 'react-router-dom';
import { describe, expect, it } from 'vitest';

import { ApiProvider } from '../../api/ApiProvider';
import { SessionProvider } from '../../auth/SessionProvider';
import { I18nProvider } from '../../i18n/I18nProvider';
import { fakeApi } from '../../test/fakeApi';
import { voucher } from '../../test/vouchers';
import { VoucherTable } from './VoucherTable';

describe('voucher table', () => {
  it('filters on the server, loads further pages, and reloads on a voucher event', async () => {
    let loads = 0;
    const api = fakeApi({
      Vouchers: (v) => {
        loads += 1;
        return v.after
          ? { vouchers: { nodes: [voucher({ id: 'HSY-2026-0009' })], pageInfo: { hasNextPage: false, endCursor: 'c2' } } }
          : { vouchers: { nodes: [voucher({ id: 'HSY-2026-0003', amount: 123456789 })], pageInfo: { hasNextPage: true, endCursor: 'c1' } } };
      },
    });
    render(
      <I18nProvider locale="zh-CN">
        <AntApp>
          <ApiProvider api={api}>
            <SessionProvider initial={null}>
              <MemoryRouter>
                <VoucherTable label="我的凭证" base={{ holder: 'HLBRAKE' }} />
              </MemoryRouter>
            </SessionProvider>
          </ApiProvider>
        </AntApp>
      </I18nProvider>,
    );
    expect(await screen.findByText('HSY-2026-0003')).toBeTruthy();
    expect(screen.getByText('¥1,234,567.89')).toBeTruthy();
    expect(api.calls[0]!.variables).toEqual({ filter: { holder: 'HLBRAKE' }, first: 100 });

    fireEvent.click(screen.getByRole('button', { name: '加载更多' }));
    expect(await screen.findByText('HSY-2026-0009')).toBeTruthy();
    expect(api.calls.at(-1)!.variables).toMatchObject({ after: 'c1' });
    expect(screen.queryByRole('button', { name: '加载更多' })).toBeNull();

    const before = loads;
    api.emit('MyEvents', { myEvents: { id: 'e1', height: 9, txId: 't', module: 'voucher', kind: 'VoucherSplit', attributes: [], data: '{}' } });
    await waitFor(() => expect(loads).toBe(before + 1));
  });
});
