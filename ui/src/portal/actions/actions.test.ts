import { describe, expect, it } from 'vitest';

import { readEpcis } from '../../epcis/epcisDoc';
import { rowsOf } from '../../epcis/EpcisPage';
import { kindName, pemProblem, proposalKind } from '../../governance/ProposeForm';
import { auditRows } from '../regulator/AuditExport';
import { bindingOf, rulesOf } from '../warehouse/DevicesView';
import { identityOf, warehouseCodeProblem } from '../warehouse/receiptForms';
import { convert, type FieldSpec } from './ActionForm';

describe('form values as sent', () => {
  const fields: FieldSpec[] = [
    { name: 'amount', label: 'a', kind: 'yuan' },
    { name: 'rate', label: 'r', kind: 'percent' },
    { name: 'qty', label: 'q', kind: 'int' },
    { name: 'note', label: 'n', optional: true },
    { name: 'hidden', label: 'h', when: (all) => all.kind === 'x' },
  ];
  it('元 become integer fen and % basis points, exactly; hidden and empty fields are left out', () => {
    expect(convert(fields, { amount: '1,234.56', rate: '4.35', qty: '12', note: '  ', hidden: 'v' })).toEqual({
      amount: 123456,
      rate: 435,
      qty: 12,
      note: undefined,
    });
    expect(convert(fields, { amount: '0.1', rate: '100', qty: '1', kind: 'x', hidden: ' v ' }).hidden).toBe('v');
    expect(convert(fields, { amount: '0.1' }).amount).toBe(10);
  });
});

describe('receipts and devices', () => {
  it('goods identity: serials, else GTIN + lot, else lot', () => {
    expect(identityOf('06901234000337', 'L1', 'A1, A2  A3')).toEqual({ kind: 'SERIALS', gtin: '06901234000337', serials: ['A1', 'A2', 'A3'] });
    expect(identityOf('06901234000337', 'L1', '')).toEqual({ kind: 'GTIN_LOT', gtin: '06901234000337', lot: 'L1' });
    expect(identityOf(undefined, 'L1', undefined)).toEqual({ kind: 'LOT', lot: 'L1' });
  });
  it('a 13-digit warehouse code is a GLN and must carry its check digit', () => {
    expect(warehouseCodeProblem('0614141000012')).toBeNull();
    expect(warehouseCodeProblem('0614141000013')).toBe('check');
    expect(warehouseCodeProblem('CMST-SH-BS01')).toBeNull();
  });
  it('binding and rules in milli-units', () => {
    expect(bindingOf({ bindingKind: 'SHIPMENT', shipment: '106141411234567897' })).toEqual({ kind: 'SHIPMENT', shipment: '106141411234567897' });
    expect(bindingOf({ bindingKind: 'WAREHOUSE_LOCATION', warehouse: 'W', zone: 'A', bin: 'A-1' })).toEqual({
      kind: 'WAREHOUSE_LOCATION',
      location: { warehouse: 'W', zone: 'A', bin: 'A-1' },
      goods: null,
    });
    expect(rulesOf({ readingType: 'temperature', min: '-18.5', max: '8', forS: 20, silenceS: 60 })).toEqual([
      { rule: 'THRESHOLD', readingType: 'temperature', min: -18500, max: 8000, forMs: 20000 },
      { rule: 'SILENCE', maxGapMs: 60000, forMs: 0 },
    ]);
    expect(rulesOf({})).toEqual([]);
  });
});

describe('governance proposals', () => {
  it('builds exactly one kind of the oneOf input', () => {
    expect(proposalKind({ kind: 'addOrg', orgId: 'NEW', orgName: 'N', creditCode: '91350100M000100Y43', roles: ['supplier'], adminKey: '04AB', committeeWeight: 0 })).toEqual({
      addOrg: { id: 'NEW', name: 'N', creditCode: '91350100M000100Y43', roles: ['supplier'], publicKey: '04ab', committeeWeight: 0 },
    });
    expect(proposalKind({ kind: 'setParam', param: 'gov.pass_bp', value: 6700 })).toEqual({ setParam: { name: 'gov.pass_bp', value: 6700 } });
  });
  it('CA proposals: PEM as pasted, fingerprints in lower-case hex, the reason by its RFC 5280 name', () => {
    const fp = 'AB'.repeat(32);
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    expect(proposalKind({ kind: 'addOrgCa', org: 'BANK', caPem: pem })).toEqual({ addOrgCa: { orgId: 'BANK', certificatePem: pem } });
    expect(proposalKind({ kind: 'removeOrgCa', org: 'BANK', caFingerprint: `0x${fp}` })).toEqual({ removeOrgCa: { orgId: 'BANK', fingerprint: fp.toLowerCase() } });
    expect(proposalKind({ kind: 'revokeCertificate', issuerCa: fp, serial: 7, reason: 'caCompromise' })).toEqual({
      revokeCertificate: { caFingerprint: fp.toLowerCase(), serial: 7, reason: 'caCompromise' },
    });
    expect(pemProblem(pem)).toBeNull();
    expect(pemProblem('MIIB')).toBe('format');
    expect(pemProblem(`${pem}\n${pem}`)).toBe('many');
    expect(kindName('revoke_certificate')).toBe('revokeCertificate');
    expect(kindName('something_new')).toBeNull();
  });
});

describe('EPCIS documents', () => {
  const doc = (events: unknown[]) => JSON.stringify({ type: 'EPCISDocument', epcisBody: { eventList: events } });
  const ev = { type: 'ObjectEvent', eventTime: '2026-12-01T08:00:00+08:00', eventTimeZoneOffset: '+08:00', bizStep: 'shipping' };
  it('names the first obvious problem by its path', () => {
    expect(readEpcis('{')).toMatchObject({ ok: false, path: 'document' });
    expect(readEpcis(doc([ev, { ...ev, eventTimeZoneOffset: '8' }]))).toEqual({ ok: false, path: 'epcisBody.eventList[1].eventTimeZoneOffset', reason: 'missing or not ±hh:mm' });
    expect(readEpcis(doc([]))).toMatchObject({ ok: false, reason: 'no events' });
    expect(readEpcis(JSON.stringify(ev))).toMatchObject({ ok: true, events: [{ type: 'ObjectEvent', bizStep: 'shipping' }] });
  });
  it('hash i belongs to the transaction of batch ⌊i/64⌋', () => {
    const events = Array.from({ length: 65 }, (_, i) => ({ index: i, type: 'ObjectEvent', eventTime: '', bizStep: null }));
    const rows = rowsOf(events, {
      captureEpcis: { hashes: events.map((e) => `h${e.index}`), transactions: [{ txId: 'a', height: 5 }, { txId: 'b', height: 6 }] },
    } as never);
    expect([rows[0]!.height, rows[63]!.height, rows[64]!.height]).toEqual([5, 5, 6]);
  });
});

describe('audit export rows', () => {
  const block = {
    height: 7,
    timeMs: 1000,
    transactions: [
      { id: 't1', index: 0, sender: 's', module: 'warehouse', outcome: 'success', errorCode: null, events: [{ kind: 'ReceiptFrozen', attributes: [{ name: 'org', value: 'PBOC-SH' }] }] },
      { id: 't2', index: 1, sender: 's', module: 'voucher', outcome: 'failed', errorCode: 'VOUCHER_X', events: [] },
    ],
  };
  it('one row per event, a refused transaction included; an organisation filter keeps what names it', () => {
    expect(auditRows([block], '')).toEqual([
      [7, 1000, 't1', 0, 's', 'warehouse', 'success', '', 'ReceiptFrozen', 'org=PBOC-SH'],
      [7, 1000, 't2', 1, 's', 'voucher', 'failed', 'VOUCHER_X', '', ''],
    ]);
    expect(auditRows([block], 'PBOC-SH')).toHaveLength(1);
    expect(auditRows([block], 'HSAUTO')).toHaveLength(0);
  });
});
