/**
 * An organisation admin (华晟汽车 HSAUTO, zhang.wei): creates a user who can then sign in, records when the
 * user's key expires, and proposes admitting an organisation (USCC check character checked at the field).
 * The demo consortium has no governance committee, so the chain refuses the proposal and the page says
 * why. Results read back over GraphQL.
 */
import { sm2 } from 'sm-crypto';
import { describe, expect, inject, it } from 'vitest';

import { as, choose, committed, cstDate, eventually, gql, refused, RUN } from '../api';
import { DEMO_PASSWORD, login, shot } from '../browser';
import { useBrowser } from './setup';

const baseUrl = inject('baseUrl');
const b = useBrowser();

describe.sequential('admin', () => {
  it('creates a user who can sign in and records when the user’s key expires', async () => {
    const { page } = b;
    const username = `e2e.${RUN.toLowerCase()}`;
    await login(page, baseUrl, 'zhang.wei');
    await page.getByRole('menuitem', { name: /用户与密钥/ }).click();
    const form = page.getByRole('form', { name: '创建用户' });
    await form.getByLabel('用户名').fill(username);
    await form.getByLabel('密码').fill('short');
    await form.getByLabel('密码').blur();
    await form.getByText('密码：至少 8 个字符').waitFor();
    await form.getByLabel('密码').fill(DEMO_PASSWORD);
    await choose(page, '角色', '只读', form);
    await form.getByRole('button', { name: '创建用户' }).click();
    await page.locator('.ant-message').getByText('「创建用户」已完成').waitFor();
    const users = page.getByRole('table', { name: '本机构用户' });
    await users.getByRole('row').filter({ hasText: username }).waitFor();
    // The new user signs in.
    const login2 = await gql<{ login: { user: { orgId: string; role: string } } }>(baseUrl, null, 'mutation($u:String!,$p:String!){login(username:$u,password:$p){user{orgId role}}}', {
      u: username,
      p: DEMO_PASSWORD,
    });
    expect(login2.login.user).toEqual({ orgId: 'HSAUTO', role: 'VIEWER' });
    const address = (await as<{ users: { username: string; address: string }[] }>(baseUrl, 'zhang.wei', 'query{users{username address}}')).users.find((u) => u.username === username)!.address;

    const expiry = page.getByRole('form', { name: '登记密钥到期' });
    await expiry.getByLabel('账户地址').fill(address);
    await expiry.getByLabel('到期日').fill(cstDate(30));
    await expiry.getByRole('button', { name: '登记密钥到期' }).click();
    await committed(page, '登记密钥到期');
    await page.getByTestId('tx-outcome').getByRole('link', { name: '在区块浏览器中查看' }).waitFor();
    const keys = await eventually(
      () => as<{ expiringKeys: { address: string; expired: boolean }[] }>(baseUrl, 'zhang.wei', 'query{expiringKeys(withinDays:60){address expired}}'),
      (r) => r.expiringKeys.some((k) => k.address.toLowerCase() === address.toLowerCase()),
      'key expiry recorded',
    );
    expect(keys.expiringKeys.find((k) => k.address.toLowerCase() === address.toLowerCase())!.expired).toBe(false);
    await shot(page, 'admin-users', false);
  });

  it('proposes admitting an organisation; the chain answers that HSAUTO is not on the committee', async () => {
    const { page } = b;
    await login(page, baseUrl, 'zhang.wei');
    await page.getByRole('menuitem', { name: /联盟治理/ }).click();
    await page.getByRole('button', { name: '发起提案' }).click();
    const form = page.getByRole('form', { name: '提交提案' });
    await form.getByLabel('提案标题').fill(`接纳上海新材料 ${RUN}`);
    await form.getByLabel('机构编号').fill(`NEWMAT${RUN}`.slice(0, 40));
    await form.getByLabel('机构名称').fill('上海新材料科技有限公司');
    // GB 32100-2015: the published example code with its last character changed fails the check.
    await form.getByLabel('统一社会信用代码').fill('91350100M000100Y44');
    await form.getByLabel('统一社会信用代码').blur();
    await form.getByText('统一社会信用代码：校验码不正确（GB 32100-2015）').waitFor();
    await form.getByLabel('统一社会信用代码').fill('91350100M000100Y43');
    await choose(page, '业务角色', '供应商', form);
    await page.keyboard.press('Escape');
    await form.getByLabel('首个管理员公钥（SM2）').fill(sm2.generateKeyPairHex().publicKey);
    await shot(page, 'governance-propose', false);
    await form.getByRole('button', { name: '提交提案' }).click();
    const why = await refused(page, '提交提案');
    expect(why).toContain('not a committee member');
    const proposals = await as<{ proposals: { title: string }[] }>(baseUrl, 'zhang.wei', 'query{proposals{title}}');
    expect(proposals.proposals.some((p) => p.title.includes(RUN))).toBe(false);
  });
});
