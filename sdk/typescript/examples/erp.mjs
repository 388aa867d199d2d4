// An ERP integration: the supplier's ERP issues an e-invoice (数电票) to the core enterprise through its
// session (the server signs with the user's custodial key); the core enterprise's ERP holds its own SM2
// key — registered once by an admin of the organisation — and signs the voucher (应收账款电子凭证)
// backed by that invoice itself: nonce, Borsh body, SM2 signature, dry run, submit.
//
//   SCF_URL=http://127.0.0.1:8080 node examples/erp.mjs      (against `scf demo`)
import { ScfClient, Sm2Key, voucher } from '../dist/index.js';

/** Today and a later day in the business time zone (UTC+8), as YYYY-MM-DD. */
function businessDay(offsetDays = 0) {
  return new Date(Date.now() + 8 * 3_600_000 + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

export async function runErp({ url, password = 'scf-demo-2026', log = console.log } = {}) {
  const unique = String(Date.now()).slice(-10);
  const invoiceNumber = `2631200000${unique}`;
  const voucherNo = `ERP-${unique}`;
  const amount = 33_900_000; // fen, the invoice's total with tax

  // 1. The supplier's ERP (江苏恒力制动系统, HLBRAKE) issues the invoice to 华晟汽车集团 (HSAUTO).
  const supplier = new ScfClient({ url });
  await supplier.login('wang.fang', password);
  const invoice = await supplier.issueInvoice({
    number: invoiceNumber,
    issueDate: businessDay(),
    seller: { name: '江苏恒力制动系统有限公司', taxId: '91320400MA1MHL0B02' },
    buyer: { name: '华晟汽车集团有限公司', taxId: '91310000MA1FL5HS01' },
    buyerOrg: 'HSAUTO',
    lines: [
      { itemName: '*汽车零部件*制动盘', spec: 'BD-320', unit: '件', quantity: '1000', unitPrice: '300.00',
        amount: 30_000_000, taxRateBp: 1300, taxAmount: 3_900_000 },
    ],
    totalAmount: 30_000_000,
    totalTax: 3_900_000,
    totalWithTax: amount,
    issuer: '王芳',
  });
  log(`invoice ${invoiceNumber} issued in block ${invoice.height}`);

  // 2. The core enterprise's ERP signs with a key it holds; an admin registers it as an account once.
  const key = Sm2Key.generate();
  const admin = new ScfClient({ url });
  await admin.login('zhang.wei', password);
  await admin.registerAccountKey(key.publicKeyHex, `ERP signer ${unique}`);
  log(`ERP key ${key.address} registered as an account of HSAUTO`);

  // 3. The voucher, built and signed by the ERP itself (no session: the signature is the authority).
  const erp = new ScfClient({ url });
  const call = voucher.issue({
    voucherNo,
    to: 'HLBRAKE',
    amount: BigInt(amount),
    dueDate: businessDay(90),
    contractRef: `HS-CG-${unique}`,
    invoices: [invoiceNumber],
  });
  const issued = await erp.signAndSubmit(key, call);
  log(`voucher ${voucherNo} issued in block ${issued.height} (tx ${issued.txId})`);

  const v = await admin.voucher(voucherNo);
  log(`voucher ${v.id}: ${v.status}, held by ${v.holder}, backed by ${v.invoices.join(', ')}`);
  return { invoiceNumber, voucherNo, voucher: v, txId: issued.txId, address: key.address };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runErp({ url: process.env.SCF_URL ?? 'http://127.0.0.1:8080' }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
