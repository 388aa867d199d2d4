import { render, screen, within } from '@testing-library/react';
import { App as AntApp } from 'antd';
import { MemoryRouter } from 'react-router-dom';
import { describe, expect, it } from 'vitest';

import { ApiProvider } from '../api/ApiProvider';
import type { Session } from '../api/types';
import { SessionProvider } from '../auth/SessionProvider';
import { I18nProvider } from '../i18n/I18nProvider';
import { fakeApi } from '../test/fakeApi';
import { UsersPage } from './UsersPage';

const session: Session = {
  token: 'tok',
  user: { id: 'u1', username: 'bank.admin', orgId: 'BANK', role: 'admin' },
  organisation: { id: 'BANK', name: '工商银行上海分行', roles: ['funder'] },
};

const DAY = 86_400_000;

describe('users page', () => {
  it('shows the certificate each 国密 TLS endpoint presents and flags the ones about to expire', async () => {
    const api = fakeApi({
      OrgUsers: () => ({ orgUsers: [] }),
      ExpiringKeys: () => ({ expiringKeys: [] }),
      TlsCertificates: () => ({
        tlsCertificates: [
          { endpoint: 'mqtt', subject: 'CN=mqtt,O=BANK', issuer: 'CN=BANK CA,O=BANK', serial: '9', notAfterMs: 0, msLeft: -DAY, expired: true },
          { endpoint: 'p2p', subject: 'CN=bank-node,O=BANK', issuer: 'CN=BANK CA,O=BANK', serial: '2', notAfterMs: 12 * DAY, msLeft: 12 * DAY + 5, expired: false },
          { endpoint: 'node-api', subject: 'CN=bank-api,O=BANK', issuer: 'CN=BANK CA,O=BANK', serial: '3', notAfterMs: 300 * DAY, msLeft: 300 * DAY, expired: false },
        ],
      }),
    });
    render(
      <I18nProvider locale="zh-CN">
        <AntApp>
          <ApiProvider api={api}>
            <SessionProvider initial={session}>
              <MemoryRouter>
                <UsersPage />
              </MemoryRouter>
            </SessionProvider>
          </ApiProvider>
        </AntApp>
      </I18nProvider>,
    );
    const table = await screen.findByRole('table', { name: '国密 TLS 证书' });
    const row = (subject: string) => within(table).getByText(subject).closest('tr')!;
    expect(within(row('CN=bank-node,O=BANK')).getByText('节点间链路')).toBeTruthy();
    expect(within(row('CN=bank-node,O=BANK')).getByText('即将到期')).toBeTruthy();
    expect(within(row('CN=bank-node,O=BANK')).getByText('12')).toBeTruthy();
    expect(within(row('CN=bank-api,O=BANK')).getByText('有效')).toBeTruthy();
    expect(within(row('CN=mqtt,O=BANK')).getByText('已过期')).toBeTruthy();
    expect(within(row('CN=mqtt,O=BANK')).getByText('设备 MQTT 接入')).toBeTruthy();
  });
});
