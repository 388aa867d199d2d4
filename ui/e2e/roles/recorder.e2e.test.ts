/**
 * Brand owner / any recorder (沪光乳业 HGDAIRY, feng.xiao): uploads an EPCIS 2.0 JSON-LD document and sees
 * each event's hash with the block of its transaction; the anchored events are read back over GraphQL.
 */
import { describe, expect, inject, it } from 'vitest';

import { as, committed, eventually, RUN } from '../api';
import { login, shot } from '../browser';
import { epcisDocument, tempFile } from '../docs';
import { useBrowser } from './setup';

const baseUrl = inject('baseUrl');
const b = useBrowser();

describe('recorder', () => {
  it('anchors an EPCIS document and lists every event hash with its block', async () => {
    const { page } = b;
    const lot = `E2E${RUN}`;
    // A site of this run, named in the portal before the document that uses it is anchored.
    const site = `urn:epc:id:sgln:6901234.${String(10_000 + (Date.now() % 90_000))}.0`;
    const siteName = `沪光乳业 E2E 分拣中心 ${RUN}`;
    await login(page, baseUrl, 'feng.xiao');
    await page.getByRole('menuitem', { name: /溯源事件上链/ }).click();
    const names = page.getByRole('form', { name: '位置名称（GLN 主数据）' });
    await names.getByLabel('位置标识（urn:epc:id:sgln:… 或 urn:epc:id:pgln:…）').fill('urn:epc:id:sgln:690123.00002.0');
    await names.getByRole('button', { name: '记录位置名称' }).click();
    await names.getByText(/^须为 urn:epc:id:sgln/).waitFor();
    await names.getByLabel('位置标识（urn:epc:id:sgln:… 或 urn:epc:id:pgln:…）').fill(site);
    await names.getByLabel('名称').fill(siteName);
    await names.getByLabel('地址（可选）').fill('上海市闵行区');
    await names.getByRole('button', { name: '记录位置名称' }).click();
    await committed(page, '记录位置名称');
    const form = page.getByRole('form', { name: '溯源事件上链' });
    // A document that is not JSON is named before it is sent.
    await form.getByLabel('EPCIS 文档（JSON-LD）').fill('{"type": "EPCISDocument"');
    await form.getByText(/^document：/).waitFor();
    await form.getByLabel('EPCIS 文件').setInputFiles(tempFile(`${lot}.jsonld`, epcisDocument(lot, site)));
    await form.getByText('共 2 个事件，将分 1 笔交易上链').waitFor();
    await form.getByRole('button', { name: '校验并上链' }).click();
    const height = await committed(page, '校验并上链');
    const table = page.getByRole('table', { name: '已上链事件' });
    await table.getByRole('row').nth(2).waitFor();
    await shot(page, 'recorder-epcis-anchored', false);
    const shown = await table.locator('tbody tr.ant-table-row').evaluateAll((rows) =>
      rows.map((r) => ({ hash: r.querySelectorAll('td')[4]?.querySelector('code')?.textContent ?? '', block: r.querySelectorAll('td')[5]?.textContent ?? '' })),
    );
    expect(shown).toHaveLength(2);
    for (const s of shown) expect(s.block).toBe(`#${height}`);

    const anchored = await eventually(
      () => as<{ epcisEvents: { nodes: { hash: string; height: number; org: string; bizStep: string | null }[] } }>(baseUrl, 'feng.xiao', 'query{epcisEvents(first:100){nodes{hash height org bizStep}}}'),
      (r) => shown.every((s) => r.epcisEvents.nodes.some((n) => n.hash === s.hash)),
      'anchored events',
    );
    const mine = anchored.epcisEvents.nodes.filter((n) => shown.some((s) => s.hash === n.hash));
    expect(mine.map((n) => [n.height, n.org, n.bizStep])).toEqual([
      [height, 'HGDAIRY', expect.stringContaining('commissioning')],
      [height, 'HGDAIRY', expect.stringContaining('shipping')],
    ]);
    // The consumer page of the lot names the site as recorded on chain.
    const page_ = await eventually(
      () => as<{ lotPage: { steps: { location: string | null; locationName: string | null; locationAddress: string | null }[] } | null }>(
        baseUrl,
        'feng.xiao',
        'query($l:String!){lotPage(gtin:"06901234000337",lot:$l){steps{location locationName locationAddress}}}',
        { l: lot },
      ),
      (r) => (r.lotPage?.steps.length ?? 0) > 0,
      'lot page',
    );
    for (const step of page_.lotPage!.steps.filter((x) => x.location === site)) {
      expect([step.locationName, step.locationAddress]).toEqual([siteName, '上海市闵行区']);
    }
    expect(page_.lotPage!.steps.some((x) => x.location === site)).toBe(true);
  });
});
