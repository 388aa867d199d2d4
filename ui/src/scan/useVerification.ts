import { useEffect, useState } from 'react';

import type { TraceStep } from '../api/types';
import { verifyEventProof, type VerifyResult } from '../verify';

export type StepVerification = VerifyResult | { verified: 'none' };

export interface LotVerification {
  /** `checking` until every step's proof has been checked. */
  status: 'checking' | 'verified' | 'partial' | 'failed' | 'none';
  steps: Record<string, StepVerification>;
}

/** Overall badge state from the per-step results. */
export function summarise(results: StepVerification[]): LotVerification['status'] {
  const withProof = results.filter((r) => r.verified !== 'none');
  if (withProof.length === 0) return 'none';
  const ok = withProof.filter((r) => r.verified === true).length;
  if (ok === results.length) return 'verified';
  return ok === 0 ? 'failed' : 'partial';
}

/**
 * Check each step's proof in the browser. Steps are checked one per macrotask so a long history does not
 * freeze the page on a phone.
 */
export function useVerification(steps: TraceStep[] | null, chainId?: string): LotVerification {
  const [state, setState] = useState<LotVerification>({ status: 'checking', steps: {} });
  useEffect(() => {
    if (steps === null) return;
    let cancelled = false;
    setState({ status: 'checking', steps: {} });
    const results: Record<string, StepVerification> = {};
    const run = async () => {
      for (const step of steps) {
        await new Promise((r) => setTimeout(r, 0));
        if (cancelled) return;
        results[step.id] = step.proof
          ? verifyEventProof(step.proof, chainId === undefined ? {} : { chainId })
          : { verified: 'none' };
        // The anchored hash must be the one this step shows, not just any hash in the bundle.
        const r = results[step.id];
        if (step.proof && r && r.verified === true && step.proof.eventHash !== step.eventHash) {
          results[step.id] = {
            verified: false,
            failure: { check: 'event_not_in_receipt', eventHash: step.eventHash },
          };
        }
        setState({ status: 'checking', steps: { ...results } });
      }
      if (!cancelled) {
        setState({ status: summarise(steps.map((s) => results[s.id] ?? { verified: 'none' })), steps: results });
      }
    };
    void run();
    return () => {
      cancelled = true;
    };
  }, [steps, chainId]);
  return state;
}
