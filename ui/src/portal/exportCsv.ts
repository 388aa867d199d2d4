/** RFC 4180 CSV text: fields with commas, quotes or line breaks are quoted. */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | boolean)[])[]): string {
  const cell = (v: string | number | boolean) => {
    const s = String(v);
    // A leading = + - @ would be a formula in a spreadsheet: prefix it so exports cannot inject one.
    const safe = /^[=+\-@]/.test(s) && typeof v === 'string' ? `'${s}` : s;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** Offer CSV rows as a file download (UTF-8 with BOM so spreadsheet software reads Chinese correctly). */
export function downloadCsv(name: string, header: readonly string[], rows: readonly (readonly (string | number | boolean)[])[]): void {
  downloadText(name.endsWith('.csv') ? name : `${name}.csv`, `\uFEFF${toCsv(header, rows)}`, 'text/csv;charset=utf-8');
}

/** Offer `text` as a file download named `name`. */
export function downloadText(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
