import { describe, expect, it } from 'vitest';

import { isGlnUri } from './LocationNamesForm';

describe('GLN master data form', () => {
  it('accepts SGLN and PGLN EPC URIs whose company prefix and reference make 12 digits', () => {
    expect(isGlnUri('urn:epc:id:sgln:6901234.00002.0')).toBe(true);
    expect(isGlnUri('urn:epc:id:sgln:6901234.00002.A-1')).toBe(true);
    expect(isGlnUri('urn:epc:id:pgln:6901234.00001')).toBe(true);
    expect(isGlnUri('urn:epc:id:pgln:690123456789.')).toBe(true);
  });
  it('refuses other keys, wrong digit counts and missing extensions', () => {
    expect(isGlnUri('urn:epc:id:sgln:690123.00002.0')).toBe(false);
    expect(isGlnUri('urn:epc:id:sgln:6901234.00002')).toBe(false);
    expect(isGlnUri('urn:epc:id:sgtin:6901234.000033.1')).toBe(false);
    expect(isGlnUri('urn:epc:id:pgln:6901234.001')).toBe(false);
    expect(isGlnUri('6901234000029')).toBe(false);
  });
});
