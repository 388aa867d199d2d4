// A bank integration: the funder (华晟商业保理, HSFACTOR) registers a webhook for workflow tasks and
// financing decisions, verifies each delivery's SM2 signature against the API's published key, and
// answers each financing application waiting for it: 查验 of the backing invoices, then approval at the
// requested rate (capped by the bank's own).
//
//   SCF_URL=http://127.0.0.1:8080 node examples/bank.mjs      (listens on 127.0.0.1, a free port)
import { createServer } from 'node:http';

import { ScfClient, verifyWebhook } from '../dist/index.js';

const MAX_RATE_BP = 450;

export async function runBank({ url, password = 'scf-demo-2026', port = 0, log = console.log } = {}) {
  const client = new ScfClient({ url });
  await client.login('ma.lin', password);
  const publicKey = await client.webhookSigningKey();
  const seen = new Set();
  const decisions = [];
  let queue = Promise.resolve();

  async function handle(delivery) {
    const e = delivery.event;
    if (delivery.kind === 'FINANCING_DECISION') {
      decisions.push({ application: attr(e, 'instance'), kind: e.kind });
      log(`decision recorded: ${e.kind} ${attr(e, 'instance')}`);
      return;
    }
    // A workflow task for the bank: a new application, or one the supplier answered a question on.
    if (delivery.kind !== 'WORKFLOW_TASK' || attr(e, 'process') !== 'financing') return;
    if (!['ApplyFinancing', 'ProvideInfo'].includes(attr(e, 'action'))) return;
    const id = attr(e, 'instance');
    const [app] = (await client.financingApplications({ funder: 'HSFACTOR' })).filter((a) => a.id === id);
    if (!app || app.state !== 'submitted') return; // already decided (a repeated or older task)
    // The requested rate travels sealed; an API without the bank's organisation key cannot open it.
    if (app.requestedRateBp === null) return log(`${id}: the requested rate is sealed and this API cannot open it`);
    await client.checkFinancingInvoices(id);
    const rate = Math.min(app.requestedRateBp, MAX_RATE_BP);
    await client.approveFinancing(id, rate, `HSF-${id}`);
    log(`${id}: invoices checked, approved at ${rate} bp`);
  }

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let delivery;
      try {
        delivery = verifyWebhook(req.headers, new Uint8Array(body), publicKey);
      } catch (e) {
        log(`refused a delivery: ${e.message}`);
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200).end();
      // At least once: the same id may come again; act once.
      if (seen.has(delivery.id)) return;
      seen.add(delivery.id);
      queue = queue.then(() => handle(delivery)).catch((e) => log(`handling ${delivery.id} failed: ${e.message}`));
    });
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  const hookUrl = `http://127.0.0.1:${server.address().port}/scf-hooks`;
  const endpoint = await client.registerWebhook(hookUrl, ['WORKFLOW_TASK', 'FINANCING_DECISION']);
  log(`listening for webhooks on ${hookUrl} (endpoint ${endpoint.id})`);
  return {
    decisions,
    stop: async () => {
      await client.deleteWebhook(endpoint.id).catch(() => {});
      await new Promise((ok) => server.close(ok));
    },
  };
}

function attr(event, name) {
  const a = event.attributes.find(([k]) => k === name);
  return a ? a[1] : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runBank({ url: process.env.SCF_URL ?? 'http://127.0.0.1:8080' }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
