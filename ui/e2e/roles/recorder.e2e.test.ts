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
    await login(page, baseUrl, 'feng.xiao');
    await page.getByRole('menuitem', { name: /溯源事件上链/ }).click();
    const form = page.getByRole('form', { name: '溯源事件上链' });
    // A document that is not JSON is named before it is sent.
    await form.getByLabel('EPCIS 文档（JSON-LD）').fill('{"type": "EPCISDocument"');
    await form.getByText(/^document：/).waitFor();
    await form.getByLabel('EPCIS 文件').setInputFiles(tempFile(`${lot}.jsonld`, epcisDocument(lot)));
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
  });
});
