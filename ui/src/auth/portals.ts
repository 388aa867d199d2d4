import type { OrgRole } from '../api/types';

/** The role portals of the UI, in navigation order. */
export const PORTALS = ['supplier', 'core_enterprise', 'funder', 'warehouse_operator', 'regulator'] as const;
export type Portal = (typeof PORTALS)[number];

/**
 * Portals an organisation with `roles` may open. The regulator sees everything. The explorer is open to
 * every member and is not listed here. The server enforces the same rules; this only shapes navigation.
 */
export function portalsFor(roles: readonly OrgRole[]): Portal[] {
  if (roles.includes('regulator')) return [...PORTALS];
  return PORTALS.filter((p) => (roles as readonly string[]).includes(p));
}

/** Lot QR labels are printed by whoever makes or handles goods. */
export function canPrintLabels(roles: readonly OrgRole[]): boolean {
  return roles.some((r) => r === 'producer' || r === 'core_enterprise' || r === 'warehouse_operator' || r === 'regulator');
}
