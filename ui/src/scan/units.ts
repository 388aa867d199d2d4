/** UCUM / UN/CEFACT unit codes as people write them (EPCIS sensor reports use `Cel`, `A93`, …). */
export function displayUnit(unit: string): string {
  switch (unit) {
    case 'Cel':
    case 'CEL':
      return '°C';
    case 'FAH':
      return '°F';
    case 'A93':
    case '%':
    case '%RH':
      return '%RH';
    default:
      return unit;
  }
}
