/** Documents the end-to-end tests upload: a UBL 2.1 invoice and an EPCIS 2.0 document, written here. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Party {
  name: string;
  taxId: string;
}

/** Fen → "1234.56". */
const yuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;

/**
 * A one-line EN 16931 commercial invoice (type 380) in UBL 2.1 syntax: quantity × price, 13 % VAT with its
 * breakdown, document totals.
 */
export function ublInvoice(o: { number: string; issueDate: string; seller: Party; buyer: Party; issuer: string; item: string; quantity: number; priceFen: number }): {
  xml: string;
  totalFen: number;
  taxFen: number;
} {
  const amount = o.quantity * o.priceFen;
  const tax = Math.floor((amount * 1300 + 5000) / 10000);
  const party = (p: Party, contact?: string) => `<cac:Party>
      <cac:PartyTaxScheme><cbc:CompanyID>${p.taxId}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
      <cac:PartyLegalEntity><cbc:RegistrationName>${p.name}</cbc:RegistrationName></cac:PartyLegalEntity>${contact ? `\n      <cac:Contact><cbc:Name>${contact}</cbc:Name></cac:Contact>` : ''}
    </cac:Party>`;
  const cat = `<cbc:ID>S</cbc:ID><cbc:Percent>13</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>`;
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
         xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
         xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
  <cbc:ID>${o.number}</cbc:ID>
  <cbc:IssueDate>${o.issueDate}</cbc:IssueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>CNY</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty>
    ${party(o.seller, o.issuer)}
  </cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty>
    ${party(o.buyer)}
  </cac:AccountingCustomerParty>
  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="CNY">${yuan(tax)}</cbc:TaxAmount>
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="CNY">${yuan(amount)}</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="CNY">${yuan(tax)}</cbc:TaxAmount>
      <cac:TaxCategory>${cat}</cac:TaxCategory>
    </cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="CNY">${yuan(amount)}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="CNY">${yuan(amount)}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="CNY">${yuan(amount + tax)}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="CNY">${yuan(amount + tax)}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="H87">${o.quantity}</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="CNY">${yuan(amount)}</cbc:LineExtensionAmount>
    <cac:Item>
      <cbc:Name>${o.item}</cbc:Name>
      <cac:ClassifiedTaxCategory>${cat}</cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="CNY">${yuan(o.priceFen)}</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
</Invoice>
`;
  return { xml, totalFen: amount + tax, taxFen: tax };
}

/** Two events of a new lot: commissioned at the dairy, shipped to the retailer (at `location`, an SGLN). */
export function epcisDocument(lot: string, location = 'urn:epc:id:sgln:6901234.00002.0'): string {
  const epcClass = `urn:epc:class:lgtin:6901234.000033.${lot}`;
  const event = (n: number, bizStep: string, time: string, extra: Record<string, unknown>) => ({
    type: 'ObjectEvent',
    eventID: `urn:uuid:0c1e2d3f-${String(n).padStart(4, '0')}-4a00-8000-${lot.toLowerCase().replace(/[^0-9a-f]/g, '0').padEnd(12, '0').slice(0, 12)}`,
    eventTime: time,
    eventTimeZoneOffset: '+08:00',
    quantityList: [{ epcClass, quantity: 1200, uom: 'EA' }],
    bizStep,
    readPoint: { id: location },
    bizLocation: { id: location },
    ...extra,
  });
  return JSON.stringify(
    {
      '@context': ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'],
      type: 'EPCISDocument',
      schemaVersion: '2.0',
      creationDate: '2026-12-01T09:00:00+08:00',
      epcisBody: {
        eventList: [
          event(1, 'commissioning', '2026-12-01T08:00:00.000+08:00', { action: 'ADD', disposition: 'active' }),
          event(2, 'shipping', '2026-12-01T15:30:00.000+08:00', { action: 'OBSERVE', disposition: 'in_transit' }),
        ],
      },
    },
    null,
    2,
  );
}

/** Write `text` to a new temporary file named `name` (for a file picker). */
export function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'scf-e2e-doc-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
