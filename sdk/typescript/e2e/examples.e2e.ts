/**
 * The SDK's examples against a real `scf demo`: the ERP issues an invoice and a self-signed voucher; the
 * bank, listening by webhook, approves a financing application a supplier submits; EPCIS capture and
 * query over REST; the resolver's linkset.
 */
import { describe, expect, inject, it } from 'vitest';

// @ts-expect-error -- plain ES module examples, no declarations
import { runBank } from '../examples/bank.mjs';
// @ts-expect-error -- plain ES module examples, no declarations
import { runErp } from '../examples/erp.mjs';
import { ScfClient } from '../src/index.js';
import { until } from './demo';

const url = inject('baseUrl');
const quiet = () => {};

describe('examples against scf demo', () => {
  it('the ERP issues an invoice and a voucher it signs itself', async () => {
    const r = await runErp({ url, log: quiet });
    expect(r.voucher).toMatchObject({ id: r.voucherNo, holder: 'HLBRAKE', status: 'PENDING', invoices: [r.invoiceNumber] });
    // The voucher's transaction was signed by the ERP's own key.
    const c = new ScfClient({ url });
    await c.login('zhang.wei', 'scf-demo-2026');
    const tx = await c.graphql<{ transaction: { sender: string } }>('query($id: String!) { transaction(id: $id) { sender } }', { id: r.txId });
    expect(tx.transaction.sender).toBe(r.address);
  });

  it('the bank approves a financing application it learns of by webhook', async () => {
    const bank = await runBank({ url, log: quiet });
    try {
      const supplier = new ScfClient({ url });
      await supplier.login('liu.yang', 'scf-demo-2026');
      const id = `APP-TS-${Date.now() % 1_000_000}`;
      await supplier.applyForFinancing({ applicationId: id, voucherId: 'HSY-2026-0003.1.2', funder: 'HSFACTOR', requestedRateBp: 420 });
      await until(`${id} approved`, 60_000, async () => {
        const apps = await supplier.financingApplications({ supplier: 'JDCAST' });
        return apps.some((a) => a.id === id && a.state === 'approved');
      });
      await until(`the decision on ${id} delivered`, 30_000, async () =>
        bank.decisions.some((d: { application: string }) => d.application === id),
      );
    } finally {
      await bank.stop();
    }
  });

  it('captures EPCIS over REST and reads it back with its hash', async () => {
    const c = new ScfClient({ url });
    await c.login('wang.fang', 'scf-demo-2026');
    const serial = `TS-${Date.now()}`;
    const doc = JSON.stringify({
      '@context': ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'],
      type: 'EPCISDocument',
      schemaVersion: '2.0',
      creationDate: new Date().toISOString(),
      epcisBody: {
        eventList: [
          {
            type: 'ObjectEvent',
            eventTime: new Date().toISOString(),
            eventTimeZoneOffset: '+08:00',
            epcList: [`urn:epc:id:sgtin:6901234.000033.${serial}`],
            action: 'OBSERVE',
            bizStep: 'shipping',
          },
        ],
      },
    });
    const job = await c.captureEpcis(doc);
    expect(job.success).toBe(true);
    const events = await c.queryEpcis({ MATCH_epc: `urn:epc:id:sgtin:6901234.000033.${serial}`, EQ_bizStep: 'shipping' });
    expect(events).toHaveLength(1);
    expect(events[0]!['scf:eventHash']).toMatch(/^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
  });

  it('resolves a seeded lot to a linkset', async () => {
    const r = await fetch(`${url}/01/06901234000337/10/Y260302`, { headers: { accept: 'application/linkset+json' } });
    expect(r.status).toBe(200);
    const ls = (await r.json()) as { linkset: Record<string, unknown>[] };
    expect(Object.keys(ls.linkset[0]!)).toEqual(expect.arrayContaining(['anchor', 'https://gs1.org/voc/pip', 'https://gs1.org/voc/epcis']));
  });
});
