import { describe, expect, it } from 'vitest';

import { canPrintLabels, PORTALS, portalsFor } from './portals';

describe('role-aware navigation', () => {
  it('shows each organisation only its own portals', () => {
    expect(portalsFor(['supplier'])).toEqual(['supplier']);
    expect(portalsFor(['core_enterprise', 'supplier'])).toEqual(['supplier', 'core_enterprise']);
    expect(portalsFor(['funder'])).toEqual(['funder']);
    expect(portalsFor(['warehouse_operator'])).toEqual(['warehouse_operator']);
    expect(portalsFor(['logistics'])).toEqual([]);
  });
  it('gives the regulator every portal', () => {
    expect(portalsFor(['regulator'])).toEqual([...PORTALS]);
  });
  it('lets goods handlers print lot labels, not funders', () => {
    expect(canPrintLabels(['producer'])).toBe(true);
    expect(canPrintLabels(['funder'])).toBe(false);
  });
});
