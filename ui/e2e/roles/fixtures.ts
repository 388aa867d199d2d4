/** What other roles do before a role's own actions, done over the API so each test is self-contained. */
import { as, cstDate, invoiceNumber } from '../api';

export const ORG = {
  HSAUTO: { id: 'HSAUTO', name: '华晟汽车集团有限公司', taxId: '91310000MA1FL5HS01' },
  HLBRAKE: { id: 'HLBRAKE', name: '江苏恒力制动系统有限公司', taxId: '91320400MA1MHL0B02' },
  JDCAST: { id: 'JDCAST', name: '常州精锻铸造有限公司', taxId: '91320411MA1NJD0C03' },
  HGSTEEL: { id: 'HGSTEEL', name: '马鞍山华钢特种材料有限公司', taxId: '91340500MA2THG0S04' },
  ICBC: { id: 'ICBC-SH', name: '中国工商银行股份有限公司上海市分行' },
  CMST: { id: 'CMST-WH', name: '中储智运仓储（上海）有限公司' },
} as const;

const TX = '{ txId height }';

/** HLBRAKE (wang.fang) issues an invoice of one line to HSAUTO: `amountFen` before 13 % tax. */
export async function sellerIssuesInvoice(baseUrl: string, amountFen: number): Promise<{ number: string; totalWithTax: number }> {
  const number = invoiceNumber();
  const tax = Math.floor((amountFen * 1300 + 5000) / 10000);
  await as(baseUrl, 'wang.fang', `mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) ${TX} }`, {
    i: {
      number,
      issueDate: cstDate(),
      seller: { name: ORG.HLBRAKE.name, taxId: ORG.HLBRAKE.taxId },
      buyer: { name: ORG.HSAUTO.name, taxId: ORG.HSAUTO.taxId },
      buyerOrg: 'HSAUTO',
      lines: [{ itemName: '*汽车零部件*制动盘', spec: 'BD-320', unit: '件', amount: amountFen, taxRateBp: 1300, taxAmount: tax }],
      totalAmount: amountFen,
      totalTax: tax,
      totalWithTax: amountFen + tax,
      issuer: '王芳',
    },
  });
  return { number, totalWithTax: amountFen + tax };
}

/** HSAUTO books the invoice and issues a voucher on it to HLBRAKE, which signs for it. */
export async function activeVoucher(baseUrl: string, voucherNo: string, amountFen: number, invoice?: string): Promise<string> {
  let number = invoice;
  if (!number) {
    number = (await sellerIssuesInvoice(baseUrl, amountFen)).number;
    await as(baseUrl, 'zhang.wei', `mutation($n: String!) { bookInvoice(number: $n, bookingRef: "记-E2E") ${TX} }`, { n: number });
  }
  await as(baseUrl, 'zhang.wei', `mutation($i: IssueVoucherInput!) { issueVoucher(input: $i) ${TX} }`, {
    i: { voucherNo, to: 'HLBRAKE', amount: amountFen, dueDate: cstDate(90), contractRef: `HS-CG-${voucherNo}`, invoices: [number] },
  });
  await as(baseUrl, 'wang.fang', `mutation($v: String!) { signForVoucher(voucherId: $v) ${TX} }`, { v: voucherNo });
  return voucherNo;
}

/** CMST-WH issues a receipt of `quantity` kg of steel coils in `bin` to `depositor`. */
export async function receipt(baseUrl: string, number: string, depositor: string, bin: string, quantity = 1000): Promise<string> {
  await as(baseUrl, 'guo.qiang', `mutation($i: ReceiptTermsInput!) { issueWarehouseReceipt(input: $i) ${TX} }`, {
    i: {
      number,
      depositor,
      goodsName: '冷轧钢卷',
      spec: 'SPCC 1.0mm',
      unit: 'kg',
      quantity,
      location: { warehouse: 'CMST-SH-BS01', zone: 'E', bin },
      identity: { kind: 'LOT', lot: `LOT-${number}` },
      validUntil: cstDate(180),
      rightsNotice: '本仓单可背书转让、质押。',
    },
  });
  return number;
}

export { TX };
