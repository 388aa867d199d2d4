/**
 * The consumer's phone: the Digital Link a lot's QR code encodes opens the public page, which verifies every
 * event's proof in the browser (SM3 Merkle proofs, SM2 commit certificate). A proof altered in transit must
 * show as not verified. What protects the consumer: the seeded yogurt lot's cold-chain excursion (an IoT
 * alert the demo's simulated logger raises about a minute after start) shows a warning above everything;
 * a recall made by the brand owner in its portal shows the recall; one serial scanned in Shanghai and then
 * in Beijing minutes later shows the copied-label warning. Locations are shown by name.
 */
import { join } from 'node:path';

import type { Browser, BrowserContext, BrowserContextOptions, Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';

import { committed, gql, RUN } from './api';
import { launch, login, SCREENSHOTS, shot } from './browser';
import { observe } from './diagnose';
import { epcisDocument, tempFile } from './docs';
import { sdlHas } from './sdl';

const baseUrl = inject('baseUrl');
const LINK = '/01/06901234000337/10/Y260302';
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});
/** A phone: iPhone-12-sized viewport, touch, mobile user agent. */
const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  locale: 'zh-CN',
  timezoneId: 'Asia/Shanghai',
  userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36',
};
beforeEach(async () => {
  context = await browser.newContext(PHONE);
  page = await context.newPage();
  page.setDefaultTimeout(60_000);
});
afterEach(async () => {
  await context?.close();
});

/** Flip one byte (two hex digits) in the middle of a hex string. */
export function flipHexByte(hex: string): string {
  const body = hex.startsWith('0x') ? hex.slice(2) : hex;
  const prefix = hex.length - body.length;
  const i = prefix + Math.floor(body.length / 4) * 2;
  const byte = parseInt(hex.slice(i, i + 2), 16) ^ 0xff;
  return hex.slice(0, i) + byte.toString(16).padStart(2, '0') + hex.slice(i + 2);
}

type Warning = { kind: string; reason: string; status: string; height: number; recordedBy: { orgId: string; orgName: string } };
const LOT_WARNINGS = 'query($g:String!,$l:String!){lotPage(gtin:$g,lot:$l){warnings{kind reason status height recordedBy{orgId orgName}}}}';

/**
 * Poll every 2 s (well under the public rate limit of 2 a second per address, which the page itself
 * needs afterwards) until `check` accepts the answer.
 */
async function until<T>(read: () => Promise<T>, check: (v: T) => boolean, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read().catch(() => last);
    if (last !== undefined && check(last)) return last;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`${what}: last ${JSON.stringify(last)}`);
}

/** The lot's warnings as the API serves them (anonymous, like the consumer page). */
async function warningsOf(gtin: string, lot: string): Promise<Warning[]> {
  const d = await gql<{ lotPage: { warnings: Warning[] } | null }>(baseUrl, null, LOT_WARNINGS, { g: gtin, l: lot });
  return d.lotPage?.warnings ?? [];
}

describe.skipIf(!sdlHas('lotPage'))('consumer scan page', () => {
  it('shows the yogurt lot cold-chain alert above everything, steps by location name, and every proof verified', async () => {
    // The demo's logger on the lot goes above 8 °C 45 s after start; 20 s later the ingestion service
    // raises the alert on chain, which flags the lot.
    const warned = await until(() => warningsOf('06901234000337', 'Y260302'), (w) => w.some((x) => x.kind === 'cold_chain_alert'), 'the yogurt lot IoT alert', 240_000);
    expect(warned.find((x) => x.kind === 'cold_chain_alert')?.recordedBy.orgId).toBe('SFCOLD');
    await page.goto(baseUrl + LINK);
    const alert = page.getByRole('region', { name: '批次警示' }).getByRole('alert').first();
    await alert.getByText('本批次冷链异常告警').waitFor();
    await alert.getByText('记录方：顺丰冷运物流有限公司').waitFor();
    await alert.getByText(/时间：\d{4}\/\d+\/\d+ .*（区块 #\d+）/).waitFor();
    // Above the product and the badge; the badge does not read as "all fine".
    const [warnY, productY] = await Promise.all([alert.boundingBox(), page.getByLabel('产品', { exact: true }).boundingBox()]);
    expect(warnY!.y).toBeLessThan(productY!.y);
    await page.getByText('记录已上链验证，但本批次有警示，见上方', { exact: true }).waitFor();
    expect(await page.getByText('已上链验证', { exact: true }).count()).toBe(0);
    const steps = page.locator('.ant-timeline-item');
    expect(await steps.count()).toBeGreaterThan(1);
    expect(await page.getByText(/本记录已在区块 #\d+ 上链并经验证/).count()).toBe(await steps.count());
    // Locations by name from the master data on chain; the raw GLN stays in small text.
    await page.getByText('地点：沪光乳业 松江工厂', { exact: false }).first().waitFor();
    await page.getByText('标识：urn:epc:id:sgln:6901234.00002.0').first().waitFor();
    expect(await page.getByText(/^地点：urn:epc:id:sgln:/).count()).toBe(0);
    await shot(page, 'consumer-verified');
    await page.getByRole('region', { name: '批次警示' }).screenshot({ path: join(SCREENSHOTS, 'consumer-alert-warning.png') });
  });

  it('shows a tampered event as not verified', async () => {
    let tampered = false;
    await page.route('**/graphql', async (route: Route) => {
      const body = route.request().postData() ?? '';
      if (!body.includes('lotPage')) return route.continue();
      const res = await route.fetch();
      type Proof = { receiptHex: string; receiptProof: { steps: { sibling: string }[] } };
      const json = (await res.json()) as { data: { lotPage: { steps: { proof: Proof | null }[] } } };
      const step = json.data.lotPage.steps.find((s) => s.proof);
      if (step?.proof) {
        // One byte of the receipt's Merkle proof (or of the receipt itself when the block had one receipt).
        const sibling = step.proof.receiptProof.steps[0];
        if (sibling) sibling.sibling = flipHexByte(sibling.sibling);
        else step.proof.receiptHex = flipHexByte(step.proof.receiptHex);
        tampered = true;
      }
      await route.fulfill({ response: res, json });
    });
    await page.goto(baseUrl + LINK);
    await page.getByText('部分记录验证未通过', { exact: true }).waitFor();
    expect(tampered).toBe(true);
    expect(await page.getByText(/本记录验证未通过/).count()).toBe(1);
    await shot(page, 'consumer-tampered');
  });

  it('shows a recall made by the brand owner in its portal', async () => {
    const lot = `R${RUN}`.slice(0, 20);
    const desk = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    try {
      const p = await desk.newPage();
      p.setDefaultTimeout(60_000);
      await observe(p);
      // 沪光乳业 commissions a new lot, then recalls it, both in its portal.
      await login(p, baseUrl, 'feng.xiao');
      await p.getByRole('menuitem', { name: /溯源事件上链/ }).click();
      const capture = p.getByRole('form', { name: '溯源事件上链' });
      await capture.getByLabel('EPCIS 文件').setInputFiles(tempFile(`${lot}.jsonld`, epcisDocument(lot)));
      await capture.getByRole('button', { name: '校验并上链' }).click();
      await committed(p, '校验并上链');
      const form = p.getByRole('form', { name: '批次召回' });
      await form.getByLabel('商品条码（GTIN）').fill('06901234000338');
      await form.getByLabel('批次号').fill(lot);
      await form.getByLabel('召回原因及处理建议').fill('抽检发现菌落总数超标，请勿食用，可凭购物小票到原购买门店退款');
      await form.getByRole('button', { name: '召回该批次' }).click();
      // The GTIN's check digit is named before anything is sent.
      await form.getByText('GTIN 须为 14 位数字且校验位正确').waitFor();
      await form.getByLabel('商品条码（GTIN）').fill('06901234000337');
      await form.getByRole('button', { name: '召回该批次' }).click();
      const height = await committed(p, '召回该批次');
      await p.getByText('已召回：消费者页面将显示召回警示').waitFor();
      await shot(p, 'recorder-recall', false);
      // Read back over the API.
      const w = await until(() => warningsOf('06901234000337', lot), (x) => x.length > 0, 'the recall', 30_000);
      expect(w[0]).toMatchObject({ kind: 'recall', status: 'open', recordedBy: { orgId: 'HGDAIRY', orgName: '沪光乳业有限公司' } });
      expect(w[0]?.reason).toContain('菌落总数超标');
      expect(w[0]?.height, 'the recall is in the block the portal showed').toBe(height);
    } finally {
      await desk.close();
    }
    await page.goto(`${baseUrl}/01/06901234000337/10/${lot}`);
    const alert = page.getByRole('region', { name: '批次警示' }).getByRole('alert').first();
    await alert.getByText('本批次已召回，请勿食用或使用').waitFor();
    await alert.getByText(/情况：抽检发现菌落总数超标/).waitFor();
    await alert.getByText('记录方：沪光乳业有限公司').waitFor();
    await page.getByText('记录已上链验证，但本批次有警示，见上方', { exact: true }).waitFor();
    await shot(page, 'consumer-recalled');
  });

  it('warns that a serial scanned in Shanghai and minutes later in Beijing is a copied label', async () => {
    const link = '/01/06901234000337/10/Y260302/21/Y0002';
    const at = async (latitude: number, longitude: number) => {
      const c = await browser.newContext({ ...PHONE, geolocation: { latitude, longitude }, permissions: ['geolocation'] });
      const p = await c.newPage();
      p.setDefaultTimeout(60_000);
      await p.goto(baseUrl + link);
      await p.getByTestId('scan-count').waitFor();
      return { c, p };
    };
    const shanghai = await at(31.2304, 121.4737);
    try {
      await shanghai.p.getByText('未发现仿冒迹象').waitFor();
      await shanghai.p.getByText('约 31.23, 121.47（约 1 公里精度）').waitFor();
      await shot(shanghai.p, 'consumer-serial');
    } finally {
      await shanghai.c.close();
    }
    const beijing = await at(39.9042, 116.4074);
    try {
      const warning = beijing.p.getByTestId('copy-warning');
      await warning.getByText('警告：此标签可能被复制').waitFor();
      await warning.getByText(/同一序列号在 \d+ 分钟内于相距约 10\d\d 公里的两地被扫描/).waitFor();
      // The lot's own warnings show on the item's page too.
      await beijing.p.getByText('本批次冷链异常告警').first().waitFor();
      await shot(beijing.p, 'consumer-serial-copied');
    } finally {
      await beijing.c.close();
    }
  });
});
