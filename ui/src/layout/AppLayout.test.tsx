import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { App as AntApp } from 'antd';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { describe, expect, it } from 'vitest';

import { ApiProvider } from '../api/ApiProvider';
import type { Session } from '../api/types';
import { SessionProvider } from '../auth/SessionProvider';
import { I18nProvider } from '../i18n/I18nProvider';
import { ChangePasswordPage } from '../pages/ChangePasswordPage';
import { fakeApi, type FakeApi } from '../test/fakeApi';
import { AppLayout } from './AppLayout';

const forced: Session = {
  token: 'tok',
  user: { id: 'u9', username: 'first.admin', orgId: 'NEWMAT', role: 'admin', mustChangePassword: true },
  organisation: { id: 'NEWMAT', name: 'NEWMAT', roles: [] },
};
const complete: Session = {
  ...forced,
  user: { ...forced.user, mustChangePassword: false },
  organisation: { id: 'NEWMAT', name: '上海新材料科技有限公司', roles: ['supplier'] },
};

function renderShell(api: FakeApi, session: Session, path = '/supplier') {
  return render(
    <I18nProvider locale="zh-CN">
      <AntApp>
        <ApiProvider api={api}>
          <SessionProvider initial={session}>
            <MemoryRouter initialEntries={[path]}>
              <Routes>
                <Route path="/" element={<AppLayout />}>
                  <Route index element={<p>首页内容</p>} />
                  <Route path="supplier" element={<p>供应商门户内容</p>} />
                  <Route path="password" element={<ChangePasswordPage />} />
                </Route>
              </Routes>
            </MemoryRouter>
          </SessionProvider>
        </ApiProvider>
      </AntApp>
    </I18nProvider>,
  );
}

const fill = (label: string, value: string) => fireEvent.change(screen.getByLabelText(label), { target: { value } });

describe('one-time password', () => {
  it('shows only the change-password page, checks the fields, then opens the portal', async () => {
    const changes: [string, string][] = [];
    const api = fakeApi(
      { Organisations: () => ({ organisations: [] }) },
      {
        changePassword: async (_s, oldPassword, newPassword) => {
          changes.push([oldPassword, newPassword]);
          return complete;
        },
      },
    );
    renderShell(api, forced);
    expect(await screen.findByText('您使用一次性密码登录。设置新密码后才能使用系统。')).toBeTruthy();
    // Nothing the server would refuse is rendered or asked for.
    expect(screen.queryByText('供应商门户内容')).toBeNull();
    expect(screen.queryByRole('navigation')).toBeNull();
    expect(api.calls).toEqual([]);

    fill('当前密码', 'OneTime-123');
    fill('新密码', 'short');
    fill('确认新密码', 'short');
    fireEvent.click(screen.getByRole('button', { name: '修改密码' }));
    expect(await screen.findByText('新密码：至少 8 个字符')).toBeTruthy();
    fill('新密码', 'OneTime-123');
    expect(await screen.findByText('新密码：不能与当前密码相同')).toBeTruthy();
    fill('新密码', '新的密码 2026');
    expect(await screen.findByText('确认新密码：与新密码不一致')).toBeTruthy();
    expect(changes).toEqual([]);

    fill('确认新密码', '新的密码 2026');
    fireEvent.click(screen.getByRole('button', { name: '修改密码' }));
    await waitFor(() => expect(changes).toEqual([['OneTime-123', '新的密码 2026']]));
    expect(await screen.findByText('首页内容')).toBeTruthy();
    expect(screen.getAllByRole('navigation').length).toBeGreaterThan(0);
  });

  it('shows the server’s refusal and stays on the page', async () => {
    const api = fakeApi({}, { changePassword: () => Promise.reject(new Error('oldPassword: is not the current password')) });
    renderShell(api, forced, '/');
    fill('当前密码', 'wrong-one');
    fill('新密码', 'a good new one');
    fill('确认新密码', 'a good new one');
    fireEvent.click(screen.getByRole('button', { name: '修改密码' }));
    expect(await screen.findByText(/「修改密码」失败：.*oldPassword: is not the current password/)).toBeTruthy();
    expect(screen.queryByText('首页内容')).toBeNull();
  });
});

describe('user menu', () => {
  it('offers changing the password and logging out', async () => {
    const api = fakeApi({ Organisations: () => ({ organisations: [] }) });
    renderShell(api, complete, '/');
    expect(await screen.findByText('首页内容')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: /用户菜单 first\.admin/ }));
    fireEvent.click(await screen.findByText('修改密码'));
    expect(await screen.findByLabelText('当前密码')).toBeTruthy();
    expect(screen.queryByText('您使用一次性密码登录。设置新密码后才能使用系统。')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: /用户菜单 first\.admin/ }));
    fireEvent.click(await screen.findByText('退出登录'));
    await waitFor(() => expect(screen.queryByLabelText('当前密码')).toBeNull());
    expect(screen.queryByRole('button', { name: /用户菜单/ })).toBeNull();
  });
});
