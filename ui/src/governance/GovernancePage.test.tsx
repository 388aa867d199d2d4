import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { App as AntApp } from 'antd';
import { MemoryRouter } from 'react-router-dom';
import { describe, expect, it } from 'vitest';

import { ApiProvider } from '../api/ApiProvider';
import type { Session } from '../api/types';
import { SessionProvider } from '../auth/SessionProvider';
import { I18nProvider } from '../i18n/I18nProvider';
import { OrgDirectoryProvider } from '../portal/OrgDirectory';
import { fakeApi, type FakeApi } from '../test/fakeApi';
import { caExpiry, GovernancePage } from './GovernancePage';

const session: Session = {
  token: 'tok',
  user: { id: 'u1', username: 'core.admin', orgId: 'CORE', role: 'admin' },
  organisation: { id: 'CORE', name: '上汽集团', roles: ['core_enterprise'] },
};

const orgs = [
  { id: 'CORE', name: '上汽集团', creditCode: 'x', roles: ['core_enterprise'], status: 'active', approvedFunder: false },
  { id: 'BANK', name: '工商银行上海分行', creditCode: 'y', roles: ['funder'], status: 'active', approvedFunder: true },
];

const DAY = 86_400_000;
const FP_CORE = 'a1'.repeat(32);
const FP_BANK = 'b2'.repeat(32);
const FP_OLD = 'c3'.repeat(32);

const tally = { yes: 1, no: 0, abstain: 0, notVoted: 1, total: 2 };
const proposal = (id: number, kind: string, kindDetail: object, certificate: object | null = null) => ({
  id,
  proposer: 'CORE',
  title: `提案 ${id}`,
  kind,
  kindDetail: JSON.stringify({ kind, ...kindDetail }),
  certificate,
  status: 'open',
  closedHeight: null,
  failure: null,
  deadline: { height: 900, timeMs: null },
  votes: [{ org: 'CORE', ballot: 'YES', weight: 1 }],
  tally,
  participationBp: 5000,
  passBp: 6667,
  decidedEarly: false,
  outcomeNow: 'expired',
  createdHeight: 10,
  createdMs: 0,
});

function governance(now: number) {
  return {
    proposals: [
      proposal(
        2,
        'add_org_ca',
        { org_id: 'BANK', certificate: '3082' },
        { fingerprint: FP_BANK, subject: 'CN=BANK CA,O=BANK', issuer: 'CN=BANK CA,O=BANK', serial: 1, notBeforeMs: now, notAfterMs: now + 3650 * DAY, problem: null },
      ),
      proposal(1, 'revoke_certificate', { ca: FP_CORE, serial: 7, reason: 'keyCompromise' }),
    ],
    committee: { members: [{ org: 'CORE', weight: 1 }, { org: 'BANK', weight: 1 }], participationBp: 5000, passBp: 6667, validatorDelayBlocks: 2 },
    certificateAuthorities: [
      { org: 'CORE', subject: 'CN=CORE CA,O=CORE', fingerprint: FP_CORE, notAfterMs: now + 365 * DAY, recordedHeight: 0 },
      { org: 'BANK', subject: 'CN=BANK OLD CA,O=BANK', fingerprint: FP_OLD, notAfterMs: now + 10 * DAY - 1000, recordedHeight: 42 },
    ],
    revokedCertificates: [{ caFingerprint: FP_CORE, issuer: 'CN=CORE CA,O=CORE', serial: 5, reason: 'superseded', height: 77 }],
  };
}

function renderPage(api: FakeApi) {
  return render(
    <I18nProvider locale="zh-CN">
      <AntApp>
        <ApiProvider api={api}>
          <SessionProvider initial={session}>
            <MemoryRouter>
              <OrgDirectoryProvider>
                <GovernancePage />
              </OrgDirectoryProvider>
            </MemoryRouter>
          </SessionProvider>
        </ApiProvider>
      </AntApp>
    </I18nProvider>,
  );
}

describe('CA expiry', () => {
  it('is soon within 30 days and expired from notAfter on', () => {
    expect(caExpiry(10 * DAY, 0)).toEqual({ state: 'soon', days: 10 });
    expect(caExpiry(31 * DAY, 0)).toEqual({ state: 'ok', days: 31 });
    expect(caExpiry(5, 5)).toEqual({ state: 'expired', days: 0 });
  });
});

describe('governance page', () => {
  it('lists the on-chain CAs and revocations, shows CA proposals readably and proposes a revocation', async () => {
    const now = Date.now();
    const api = fakeApi({
      Organisations: () => ({ organisations: orgs }),
      Governance: () => governance(now),
      ChainHeight: () => ({ chainStatus: { height: 300 } }),
      Propose: () => ({ propose: { txId: 'ab', height: 301, events: [] } }),
    });
    renderPage(api);

    // CAs: the one expiring in 10 days is flagged, the year-long one is not; genesis is named.
    const cas = await screen.findByRole('table', { name: '联盟信任的机构 CA 证书' });
    const oldRow = within(cas).getByText('CN=BANK OLD CA,O=BANK').closest('tr')!;
    expect(within(oldRow).getByText('10 天后到期')).toBeTruthy();
    expect(oldRow.className).toContain('scf-row-warn');
    const coreRow = within(cas).getByText('CN=CORE CA,O=CORE').closest('tr')!;
    expect(within(coreRow).queryByText(/天后到期/)).toBeNull();
    expect(within(coreRow).getByText('创世')).toBeTruthy();
    const revoked = screen.getByRole('table', { name: '链上吊销的证书' });
    expect(within(revoked).getByText('已被替换 (superseded)')).toBeTruthy();
    expect(within(revoked).getByText('#77')).toBeTruthy();

    // Proposals: kinds by name; an add_org_ca shows the decoded certificate, a revocation its CA by name.
    const list = screen.getByRole('table', { name: '提案' });
    expect(within(list).getByText('信任机构 CA 证书')).toBeTruthy();
    expect(within(list).getByText('吊销证书')).toBeTruthy();
    for (const b of list.querySelectorAll('button.ant-table-row-expand-icon')) fireEvent.click(b);
    // Subject and issuer: a CA is self-signed.
    await waitFor(() => expect(within(list).getAllByText('CN=BANK CA,O=BANK')).toHaveLength(2));
    expect(within(list).getAllByText(FP_BANK).length).toBeGreaterThan(0);
    expect(within(list).getByText('密钥泄露 (keyCompromise)')).toBeTruthy();

    // Propose: revoke serial 9 of CORE's CA for key compromise.
    fireEvent.click(screen.getByText('发起提案'));
    const form = await screen.findByRole('form', { name: '提交提案' });
    fireEvent.change(within(form).getByRole('textbox', { name: '提案标题' }), { target: { value: '吊销 CORE 节点证书' } });
    fireEvent.mouseDown(within(form).getByRole('combobox', { name: '提案类型' }));
    fireEvent.click(await screen.findByTitle('吊销证书'));
    const issuer = await within(form).findByRole('combobox', { name: '签发该证书的 CA' });
    fireEvent.mouseDown(issuer);
    fireEvent.click(await screen.findByTitle(`CORE · CN=CORE CA,O=CORE · ${FP_CORE.slice(0, 16)}…`));
    fireEvent.change(within(form).getByRole('textbox', { name: '证书序列号（十进制）' }), { target: { value: '9' } });
    fireEvent.click(within(form).getByRole('button', { name: '提交提案' }));
    await waitFor(() => expect(api.calls.some((c) => c.op === 'Propose')).toBe(true));
    expect(api.calls.find((c) => c.op === 'Propose')!.variables).toEqual({
      input: {
        title: '吊销 CORE 节点证书',
        kind: { revokeCertificate: { caFingerprint: FP_CORE, serial: 9, reason: 'keyCompromise' } },
        deadlineHeight: 900,
      },
    });
  });

  it('refuses a pasted text that is not a PEM certificate at the field', async () => {
    const api = fakeApi({
      Organisations: () => ({ organisations: orgs }),
      Governance: () => governance(Date.now()),
      ChainHeight: () => ({ chainStatus: { height: 300 } }),
    });
    renderPage(api);
    fireEvent.click(await screen.findByText('发起提案'));
    const form = await screen.findByRole('form', { name: '提交提案' });
    fireEvent.mouseDown(within(form).getByRole('combobox', { name: '提案类型' }));
    fireEvent.click(await screen.findByTitle('信任机构 CA 证书'));
    const pem = await within(form).findByRole('textbox', { name: 'CA 证书（PEM）' });
    fireEvent.change(pem, { target: { value: 'MIIB...' } });
    expect(await within(form).findByText(/不是 PEM 格式的证书/)).toBeTruthy();
    expect(api.calls.some((c) => c.op === 'Propose')).toBe(false);
  });
});
