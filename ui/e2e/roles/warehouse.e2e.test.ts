/**
 * Warehouse (中储智运 CMST-WH, guo.qiang): issues a receipt (GTIN check digit checked at the field), the
 * depositor splits, endorses and withdraws parts in its portal, the warehouse flags and clears a receipt,
 * confirms pledged goods, registers a device with its SM2 public key, sets its rules, rebinds and revokes
 * it, and authorises and revokes an ingestion account — in the browser; results read back over GraphQL.
 */
import { sm2 } from 'sm-crypto';
import { describe, expect, inject, it } from 'vitest';

import { as, choose, committed, cstDate, dialog, eventually, pick, RUN } from '../api';
import { login, shot } from '../browser';
import { ORG, receipt, TX } from './fixtures';
import { openTab, switchUser, useBrowser } from './setup';

const baseUrl = inject('baseUrl');
const b = useBrowser();

interface ReceiptRead {
  warehouseReceipt: { status: string; holder: string; children: string[]; flag: { reason: string } | null; endorsements: { to: string }[] };
}
const readReceipt = (n: string) =>
  as<ReceiptRead>(baseUrl, 'guo.qiang', 'query($n:String!){warehouseReceipt(number:$n){status holder children flag{reason} endorsements{to}}}', { n });

describe.sequential('warehouse', () => {
  it('issues a receipt; the holder splits, endorses and withdraws; the warehouse flags and clears', async () => {
    const { page } = b;
    const number = `E2E-W-${RUN}`;
    await login(page, baseUrl, 'guo.qiang');
    await openTab(page, baseUrl, 'warehouse_operator', 'issue');
    const form = page.getByRole('form', { name: '签发仓单' });
    await form.getByLabel('仓单编号').fill(number);
    await pick(page, '存货人', ORG.JDCAST.name, form);
    await form.getByLabel('货物名称').fill('球墨铸铁件');
    await form.getByLabel('单位').fill('件');
    await form.getByLabel('数量', { exact: true }).fill('900');
    await form.getByLabel('仓库代码').fill('CMST-SH-BS01');
    await form.getByLabel('库区').fill('W');
    await form.getByLabel('货位').fill(`W-${RUN}`);
    // A GTIN with a wrong check digit is named at the field.
    await form.getByLabel('商品条码（GTIN）').fill('06901234000338');
    await form.getByLabel('商品条码（GTIN）').blur();
    await form.getByText('商品条码（GTIN）：GTIN 校验位不正确（GS1 模 10）').waitFor();
    await form.getByLabel('商品条码（GTIN）').fill('06901234000337');
    await form.getByLabel('批号').fill(`JD-${RUN}`);
    await form.getByLabel('有效期至', { exact: true }).fill(cstDate(120));
    await shot(page, 'warehouse-issue-receipt', false);
    await form.getByRole('button', { name: '签发仓单' }).click();
    await committed(page, '签发仓单');
    await eventually(() => readReceipt(number), (r) => r.warehouseReceipt.holder === 'JDCAST', 'receipt issued');

    // The depositor (JDCAST) acts on its receipt from 我的仓单.
    await switchUser(page, baseUrl, 'liu.yang');
    await openTab(page, baseUrl, 'supplier', 'receipts');
    const mine = page.getByRole('table', { name: '我的仓单' });
    await mine.getByRole('row').filter({ hasText: number }).getByRole('button', { name: `拆分仓单 ${number}` }).click();
    const split = await dialog(page, `拆分仓单 · ${number}`);
    await split.getByLabel('第 1 部分数量').fill('600');
    await split.getByLabel('第 1 部分批号').fill(`JD-${RUN}-A`);
    await split.getByLabel('第 2 部分数量').fill('200');
    await split.getByTestId('receipt-split-sum').getByText('合计 800 件，仓单数量为 900 件').waitFor();
    await split.getByLabel('第 2 部分数量').fill('300');
    await split.getByLabel('第 2 部分批号').fill(`JD-${RUN}-B`);
    await split.getByTestId('receipt-split-sum').getByText('合计 900 件，与仓单数量相等').waitFor();
    await shot(page, 'warehouse-receipt-split', false);
    await split.getByRole('button', { name: '拆分仓单' }).click();
    await committed(page, `拆分仓单 · ${number}`);
    const parent = await eventually(() => readReceipt(number), (r) => r.warehouseReceipt.status === 'SPLIT', 'split');
    expect(parent.warehouseReceipt.children).toEqual([`${number}-1`, `${number}-2`]);

    await mine.getByRole('row').filter({ hasText: `${number}-1` }).getByRole('button', { name: `背书转让 ${number}-1` }).click();
    const endorse = await dialog(page, `背书转让 · ${number}-1`);
    await pick(page, '被背书人', ORG.HGSTEEL.name, endorse);
    await endorse.getByLabel('背书附言').fill('货款结算');
    await endorse.getByRole('button', { name: `背书转让 · ${number}-1` }).click();
    await committed(page, `背书转让 · ${number}-1`);
    await eventually(() => readReceipt(`${number}-1`), (r) => r.warehouseReceipt.holder === 'HGSTEEL', 'endorsed');

    await mine.getByRole('row').filter({ hasText: `${number}-2` }).getByRole('button', { name: `提货注销 ${number}-2` }).click();
    await (await dialog(page, `提货注销 · ${number}-2`)).getByRole('button', { name: `提货注销 · ${number}-2` }).click();
    await committed(page, `提货注销 · ${number}-2`);
    await eventually(() => readReceipt(`${number}-2`), (r) => r.warehouseReceipt.status === 'WITHDRAWN', 'withdrawn');

    // Back at the warehouse: flag the endorsed part after an inspection, then clear it.
    await switchUser(page, baseUrl, 'guo.qiang');
    await openTab(page, baseUrl, 'warehouse_operator', 'receipts');
    const all = page.getByRole('table', { name: '仓单' });
    const row = all.getByRole('row').filter({ hasText: `${number}-1` });
    await row.getByRole('button', { name: `标记异常 ${number}-1` }).click();
    const flag = await dialog(page, `标记异常 · ${number}-1`);
    await flag.getByLabel('原因').fill('抽检发现包装破损');
    await flag.getByRole('button', { name: `标记异常 · ${number}-1` }).click();
    await committed(page, `标记异常 · ${number}-1`);
    await eventually(() => readReceipt(`${number}-1`), (r) => r.warehouseReceipt.flag?.reason === '抽检发现包装破损', 'flagged');
    await row.getByRole('button', { name: `解除异常标记 ${number}-1` }).click();
    const clear = await dialog(page, `解除异常标记 · ${number}-1`);
    await clear.getByLabel('原因').fill('重新包装后复检合格');
    await clear.getByRole('button', { name: `解除异常标记 · ${number}-1` }).click();
    await committed(page, `解除异常标记 · ${number}-1`);
    await eventually(() => readReceipt(`${number}-1`), (r) => r.warehouseReceipt.flag === null, 'flag cleared');
  });

  it('confirms the goods of a pledge application', async () => {
    const { page } = b;
    const number = await receipt(baseUrl, `E2E-WP-${RUN}`, 'HGSTEEL', `WP-${RUN}`);
    const id = `PL-W-${RUN}`;
    await as(baseUrl, 'sun.li', `mutation($i:ApplyPledgeInput!){applyForPledge(input:$i) ${TX}}`, { i: { applicationId: id, receipt: number, funder: 'CMB-SZ', requestedAmount: 100_000_00 } });
    await login(page, baseUrl, 'guo.qiang');
    await openTab(page, baseUrl, 'warehouse_operator', 'pledges');
    await page.getByRole('textbox', { name: '申请编号' }).fill(id);
    await page.getByRole('button', { name: /^打\s*开$/ }).click();
    const card = page.getByRole('region', { name: `申请 ${id}` });
    await card.getByRole('button', { name: `确认货物 ${id}` }).click();
    const d = await dialog(page, `确认货物 · ${id}`);
    await d.getByLabel('货值（元）').fill('260,000.00');
    await d.getByLabel('设备编号').fill('CMST-TH-A07');
    await d.getByLabel('检查说明').fill('实地盘点 1000 kg，温湿度正常');
    await shot(page, 'warehouse-confirm-goods', false);
    await d.getByRole('button', { name: `确认货物 · ${id}` }).click();
    await committed(page, `确认货物 · ${id}`);
    await eventually(
      () => as<{ workflowInstance: { state: string } }>(baseUrl, 'guo.qiang', 'query($id:String!){workflowInstance(id:$id){state}}', { id }),
      (r) => r.workflowInstance.state === 'goods_confirmed',
      'goods confirmed',
    );
  });

  it('registers a device with its SM2 public key, sets rules, rebinds and revokes it; authorises an ingestor', async () => {
    const { page } = b;
    const id = `E2E-TH-${RUN}`;
    const { publicKey } = sm2.generateKeyPairHex();
    await login(page, baseUrl, 'guo.qiang');
    await openTab(page, baseUrl, 'warehouse_operator', 'devices');
    const form = page.getByRole('form', { name: '登记设备' });
    await form.getByLabel('设备编号').fill(id);
    await form.getByLabel('设备公钥（SM2）').fill(publicKey.slice(0, 100));
    await form.getByLabel('设备公钥（SM2）').blur();
    await form.getByText('设备公钥（SM2）：应为 SM2 公钥').waitFor();
    await form.getByLabel('设备公钥（SM2）').fill(publicKey);
    await form.getByLabel('仓库代码').fill('CMST-SH-BS01');
    await form.getByLabel('库区').fill('D');
    await form.getByLabel('货位').fill(`D-${RUN}`);
    await choose(page, '阈值规则：读数类型', '湿度（%RH）', form);
    await form.getByLabel('上限').fill('70');
    await form.getByLabel('持续（秒）').fill('20');
    await shot(page, 'warehouse-register-device', false);
    await form.getByRole('button', { name: '登记设备' }).click();
    await committed(page, '登记设备');
    type DeviceRead = { device: { status: string; publicKey: string; binding: { kind: string; location: { bin: string } | null; lot: string | null }; rules: { rule: string; max: number | null; maxGapMs: number | null }[] } };
    const read = () =>
      as<DeviceRead>(baseUrl, 'guo.qiang', 'query($id:String!){device(id:$id){status publicKey binding{kind location{bin} lot} rules{rule max maxGapMs}}}', { id });
    const registered = await eventually(read, () => true, 'device registered');
    expect(registered.device.publicKey.toLowerCase()).toBe(publicKey.toLowerCase());
    expect(registered.device.rules).toEqual([{ rule: 'THRESHOLD', max: 70_000, maxGapMs: null }]);

    const table = page.getByRole('table', { name: '物联网设备' });
    const row = table.getByRole('row').filter({ hasText: id });
    await row.getByRole('button', { name: `设置规则 ${id}` }).click();
    const rules = await dialog(page, `设置规则 · ${id}`);
    await rules.getByLabel('静默告警：最长无读数间隔（秒）').fill('120');
    await rules.getByRole('button', { name: `设置规则 · ${id}` }).click();
    await committed(page, `设置规则 · ${id}`);
    await eventually(read, (r) => r.device.rules.some((x) => x.rule === 'SILENCE' && x.maxGapMs === 120_000), 'rules set');

    await row.getByRole('button', { name: `重新绑定 ${id}` }).click();
    const rebind = await dialog(page, `重新绑定 · ${id}`);
    await choose(page, '绑定对象', '批次', rebind);
    await rebind.getByLabel('商品条码（GTIN）').fill('06901234000337');
    await rebind.getByLabel('批号').fill(`Y-${RUN}`);
    await rebind.getByRole('button', { name: `重新绑定 · ${id}` }).click();
    await committed(page, `重新绑定 · ${id}`);
    await eventually(read, (r) => r.device.binding.kind === 'LOT' && r.device.binding.lot === `Y-${RUN}`, 'rebound');

    await row.getByRole('button', { name: `吊销 ${id}` }).click();
    const revokeDevice = await dialog(page, `吊销 · ${id}`);
    await revokeDevice.getByLabel('原因').fill('传感器损坏，已更换');
    await revokeDevice.getByRole('button', { name: `吊销 · ${id}` }).click();
    await committed(page, `吊销 · ${id}`);
    await eventually(read, (r) => r.device.status === 'REVOKED', 'revoked');

    // An ingestion account: lin.xue's signing address stands in for a gateway's.
    const users = await as<{ users: { username: string; address: string }[] }>(baseUrl, 'guo.qiang', 'query{users{username address}}');
    const address = users.users.find((u) => u.username === 'lin.xue')!.address;
    const ingest = page.getByRole('form', { name: '授权接入账户' });
    await ingest.getByLabel('账户地址').fill(address);
    await ingest.getByRole('button', { name: '授权接入账户' }).click();
    const h1 = await committed(page, '授权接入账户');
    const revoke = page.getByRole('form', { name: '撤销接入账户' });
    await revoke.getByLabel('账户地址').fill(address);
    await revoke.getByRole('button', { name: '撤销接入账户' }).click();
    const h2 = await committed(page, '撤销接入账户');
    for (const [h, kind] of [
      [h1, 'IngestorAuthorised'],
      [h2, 'IngestorRevoked'],
    ] as const) {
      const block = await as<{ block: { transactions: { outcome: string; events: { kind: string }[] }[] } }>(baseUrl, 'guo.qiang', 'query($h:Int!){block(height:$h){transactions{outcome events{kind}}}}', { h });
      expect(block.block.transactions.flatMap((t) => t.events.map((e) => e.kind))).toContain(kind);
    }
  });
});
