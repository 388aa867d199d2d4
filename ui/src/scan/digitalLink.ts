/**
 * GS1 Digital Link paths for lots: `/01/{gtin14}/10/{lot}` (the URL a lot's QR code encodes).
 */

/** GS1 mod-10 check digit over the first 13 digits of a GTIN-14. */
export function gtinCheckDigit(first13: string): number {
  let sum = 0;
  for (let i = 0; i < 13; i++) {
    const d = first13.charCodeAt(i) - 48;
    sum += d * (i % 2 === 0 ? 3 : 1);
  }
  return (10 - (sum % 10)) % 10;
}

export function isValidGtin14(gtin: string): boolean {
  return /^\d{14}$/.test(gtin) && gtinCheckDigit(gtin.slice(0, 13)) === Number(gtin[13]);
}

/** AI (10) batch/lot: 1–20 characters of GS1 AI encodable character set 82. */
export function isValidLot(lot: string): boolean {
  return /^[!"%-?A-Z_a-z]{1,20}$/.test(lot);
}

export type LinkError = 'gtin' | 'lot';

export function checkLotLink(gtin: string, lot: string): LinkError | null {
  if (!isValidGtin14(gtin)) return 'gtin';
  if (!isValidLot(lot)) return 'lot';
  return null;
}

/** Path of a lot's consumer page; the lot is percent-encoded as GS1 Digital Link requires. */
export function lotPath(gtin: string, lot: string): string {
  return `/01/${gtin}/10/${encodeURIComponent(lot)}`;
}

/** Absolute URL of a lot's page on `origin` (what the QR code encodes). */
export function lotUrl(origin: string, gtin: string, lot: string): string {
  return `${origin.replace(/\/$/, '')}${lotPath(gtin, lot)}`;
}
