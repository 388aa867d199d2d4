/**
 * An organisation admin (华晟汽车 HSAUTO, zhang.wei): creates a user who can then sign in, records when the
 * user's key expires, disables a user it created (the user's session ends, it can no longer sign in, its
 * account is removed on chain), and proposes admitting an organisation (USCC check character checked at
 * the field). The demo consortium has no governance committee, so the chain refuses the proposal and the
 * page says why. A user changes its password from the user menu. Results read back over GraphQL.
 */
import { sm2 } from 'sm-crypto';
import { describe, expect, inject, it } from 'vitest';

import { as, choose, committed, cstDate, eventually, gql, gqlRaw, markOneTimePassword, refused, RUN, signIn } from '../api';
import { DEMO_PASSWORD, login, shot } from '../browser';
import { useBrowser } from './setup';

const baseUrl = inject('baseUrl');
const dataDir = inject('dataDir');
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
    const address = (await as<{ orgUsers: { username: string; address: string }[] }>(baseUrl, 'zhang.wei', 'query{orgUsers{username address}}')).orgUsers.find((u) => u.username === username)!.address;

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

  it('disables a user it created: the user’s session ends, it cannot sign in, its account is removed on chain', async () => {
    const { page } = b;
    const username = `e2e.off.${RUN.toLowerCase()}`;
    const created = await as<{ createUser: { address: string } }>(baseUrl, 'zhang.wei', 'mutation($i:CreateUserInput!){createUser(input:$i){address}}', {
      i: { username, password: DEMO_PASSWORD, role: 'OPERATOR' },
    });
    const address = created.createUser.address.toLowerCase().replace(/^0x/, '');
    const token = await signIn(baseUrl, username, DEMO_PASSWORD);
    const from = (await as<{ chainStatus: { height: number } }>(baseUrl, 'zhang.wei', 'query{chainStatus{height}}')).chainStatus.height;

    await login(page, baseUrl, 'zhang.wei');
    await page.getByRole('menuitem', { name: /用户与密钥/ }).click();
    const row = page.getByRole('table', { name: '本机构用户' }).getByRole('row').filter({ hasText: username });
    await row.getByText('正常').waitFor();
    // An admin is not offered disabling itself.
    await page.getByRole('table', { name: '本机构用户' }).getByRole('row').filter({ hasText: 'zhang.wei' }).getByText('（本人）').waitFor();
    await row.getByRole('button', { name: `停用 ${username}` }).click();
    await page.locator('.ant-popover:visible').getByRole('button', { name: /^停\s*用$/ }).click();
    await page.locator('.ant-message').getByText(`「停用 ${username}」已完成`).waitFor();
    await row.getByText('已停用').waitFor();
    expect(await row.getByRole('button', { name: `停用 ${username}` }).count()).toBe(0);
    await shot(page, 'admin-user-disabled', false);

    const list = await as<{ orgUsers: { username: string; disabled: boolean }[] }>(baseUrl, 'zhang.wei', 'query{orgUsers{username disabled}}');
    expect(list.orgUsers.find((u) => u.username === username)?.disabled).toBe(true);
    // The session it had is over, and it cannot sign in again.
    const me = await gqlRaw(baseUrl, token, 'query{me{username}}');
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const again = await gqlRaw(baseUrl, null, 'mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}', { u: username, p: DEMO_PASSWORD });
    expect(again.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // Nor through the login page.
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel('用户名').fill(username);
    await page.getByLabel('密码').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: /登\s*录/ }).click();
    await page.getByRole('alert').getByText(/登录失败/).waitFor();
    // On chain: the admin removed the user's account.
    type Blocks = { block: { transactions: { events: { kind: string; attributes: { name: string; value: string }[] }[] }[] } };
    const removed = async (): Promise<boolean> => {
      const tip = (await as<{ chainStatus: { height: number } }>(baseUrl, 'zhang.wei', 'query{chainStatus{height}}')).chainStatus.height;
      for (let h = from; h <= tip; h++) {
        const blk = await as<Blocks>(baseUrl, 'zhang.wei', 'query($h:Int!){block(height:$h){transactions{events{kind attributes{name value}}}}}', { h });
        const hit = blk.block.transactions.some((t) =>
          t.events.some((e) => e.kind === 'AccountRemoved' && e.attributes.some((a) => a.name === 'account' && a.value.toLowerCase().replace(/^0x/, '') === address)),
        );
        if (hit) return true;
      }
      return false;
    };
    await eventually(removed, (hit) => hit, 'AccountRemoved event for the disabled user');
  });

  it('a user changes its password from the user menu', async () => {
    const { page } = b;
    const username = `e2e.pw.${RUN.toLowerCase()}`;
    const fresh = `新密码-${RUN}`;
    await as(baseUrl, 'zhang.wei', 'mutation($i:CreateUserInput!){createUser(input:$i){id}}', { i: { username, password: DEMO_PASSWORD, role: 'VIEWER' } });
    await login(page, baseUrl, username);
    await page.getByRole('button', { name: `用户菜单 ${username}` }).click();
    await page.getByRole('menuitem', { name: '修改密码' }).click();
    const form = page.getByRole('form', { name: '修改密码' });
    await form.getByLabel('当前密码', { exact: true }).fill(DEMO_PASSWORD);
    await form.getByLabel('新密码', { exact: true }).fill(DEMO_PASSWORD);
    await form.getByLabel('新密码', { exact: true }).blur();
    await form.getByText('新密码：不能与当前密码相同').waitFor();
    await form.getByLabel('新密码', { exact: true }).fill(fresh);
    await form.getByLabel('确认新密码', { exact: true }).fill(`${fresh}x`);
    await form.getByLabel('确认新密码', { exact: true }).blur();
    await form.getByText('确认新密码：与新密码不一致').waitFor();
    await form.getByLabel('确认新密码', { exact: true }).fill(fresh);
    await form.getByText('确认新密码：与新密码不一致').waitFor({ state: 'hidden' });
    await shot(page, 'user-change-password', false);
    await form.getByRole('button', { name: '修改密码' }).click();
    await page.locator('.ant-message').getByText('密码已修改').waitFor();
    await page.waitForURL(`${baseUrl}/`);
    // The new password signs in; the old one no longer does.
    await signIn(baseUrl, username, fresh);
    const old = await gqlRaw(baseUrl, null, 'mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}', { u: username, p: DEMO_PASSWORD });
    expect(old.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a user signed in with a one-time password sees only the change-password page until it changes it', async () => {
    const { page } = b;
    const username = `e2e.otp.${RUN.toLowerCase()}`;
    const oneTime = `OTP-${RUN}-start`;
    const chosen = `自选密码-${RUN}`;
    await as(baseUrl, 'zhang.wei', 'mutation($i:CreateUserInput!){createUser(input:$i){id}}', { i: { username, password: oneTime, role: 'OPERATOR' } });
    markOneTimePassword(dataDir, username);
    // The server holds such a session to me, logout and changePassword.
    const apiToken = await signIn(baseUrl, username, oneTime);
    const me = await gql<{ me: { mustChangePassword: boolean } }>(baseUrl, apiToken, 'query{me{mustChangePassword}}');
    expect(me.me.mustChangePassword).toBe(true);
    expect((await gqlRaw(baseUrl, apiToken, 'query{organisations{id}}')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    await page.goto(`${baseUrl}/login`);
    await page.getByLabel('用户名').fill(username);
    await page.getByLabel('密码').fill(oneTime);
    await page.getByRole('button', { name: /登\s*录/ }).click();
    await page.getByRole('alert').getByText('您使用一次性密码登录。设置新密码后才能使用系统。').waitFor();
    expect(await page.getByRole('navigation', { name: '主导航' }).count()).toBe(0);
    // Any address leads to the same page until the password is changed.
    await page.goto(`${baseUrl}/core_enterprise`);
    const form = page.getByRole('form', { name: '修改密码' });
    await form.waitFor();
    expect(await page.getByRole('navigation', { name: '主导航' }).count()).toBe(0);
    await form.getByLabel('当前密码', { exact: true }).fill(oneTime);
    await form.getByLabel('新密码', { exact: true }).fill(chosen);
    await form.getByLabel('确认新密码', { exact: true }).fill(chosen);
    await shot(page, 'user-one-time-password', false);
    await form.getByRole('button', { name: '修改密码' }).click();
    await page.locator('.ant-message').getByText('密码已修改').waitFor();
    await page.getByRole('navigation', { name: '主导航' }).first().waitFor();

    // Changed: the other session ended, the chosen password opens everything, the admin sees it active.
    expect((await gqlRaw(baseUrl, apiToken, 'query{me{username}}')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const token = await signIn(baseUrl, username, chosen);
    const orgs = await gql<{ organisations: { id: string }[] }>(baseUrl, token, 'query{organisations{id}}');
    expect(orgs.organisations.some((o) => o.id === 'HSAUTO')).toBe(true);
    const users = await as<{ orgUsers: { username: string; mustChangePassword: boolean }[] }>(baseUrl, 'zhang.wei', 'query{orgUsers{username mustChangePassword}}');
    expect(users.orgUsers.find((u) => u.username === username)?.mustChangePassword).toBe(false);
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
