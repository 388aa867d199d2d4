import type { VoucherFieldsFragment } from '../../api/generated';

export interface LineageNode {
  voucher: VoucherFieldsFragment;
  children: LineageNode[];
}

/**
 * The lineage list the API returns (root first, depth first, only what the caller may see) as a tree.
 * A voucher whose parent is not visible to the caller becomes a top-level node, so nothing is dropped.
 */
export function lineageTree(list: readonly VoucherFieldsFragment[]): LineageNode[] {
  const nodes = new Map<string, LineageNode>();
  for (const v of list) nodes.set(v.id, { voucher: v, children: [] });
  const roots: LineageNode[] = [];
  for (const v of list) {
    const node = nodes.get(v.id)!;
    const parent = v.parentId ? nodes.get(v.parentId) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const byId = (a: LineageNode, b: LineageNode) => a.voucher.id.localeCompare(b.voucher.id, 'en', { numeric: true });
  const sort = (ns: LineageNode[]) => {
    ns.sort(byId);
    ns.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}

/** Σ amounts of the live leaves under `node` (split parents are replaced by their parts), in fen. */
export function liveLeafSum(node: LineageNode): bigint {
  if (node.voucher.status === 'SPLIT' && node.children.length > 0) {
    return node.children.reduce((s, c) => s + liveLeafSum(c), 0n);
  }
  return node.voucher.status === 'REJECTED' ? 0n : BigInt(node.voucher.amount);
}
