import { useCallback, useEffect, useRef, useState } from 'react';

import { useSession } from '../auth/SessionProvider';
import { useApi } from './ApiProvider';
import { ApiError } from './client';
import type { TypedDocumentString } from './generated';

/** Run generated documents as the signed-in user; an expired session sends the user back to login. */
export function useGql() {
  const api = useApi();
  const { session, logout } = useSession();
  const token = session?.token;
  return useCallback(
    async <R, V>(doc: TypedDocumentString<R, V>, variables: V): Promise<R> => {
      try {
        return await api.request(doc, variables, token);
      } catch (e) {
        if (e instanceof ApiError && e.code === 'UNAUTHENTICATED') logout();
        throw e;
      }
    },
    [api, token, logout],
  );
}

export type QueryState<R> =
  | { status: 'loading'; data: R | undefined; error: undefined }
  | { status: 'error'; data: R | undefined; error: unknown }
  | { status: 'ready'; data: R; error: undefined };

export interface QueryResult<R> extends Readonly<{ state: QueryState<R> }> {
  data: R | undefined;
  error: unknown;
  loading: boolean;
  /** Load again, keeping the current data on screen meanwhile. */
  refetch: () => void;
}

/**
 * A query that loads on mount and whenever its variables change. `skip` holds it back (e.g. until a
 * selection exists). Stale answers from earlier variables are dropped.
 */
export function useQuery<R, V>(doc: TypedDocumentString<R, V>, variables: V, { skip = false }: { skip?: boolean } = {}): QueryResult<R> {
  const gql = useGql();
  const key = JSON.stringify(variables ?? {});
  const [state, setState] = useState<QueryState<R>>({ status: 'loading', data: undefined, error: undefined });
  const [nonce, setNonce] = useState(0);
  const varsRef = useRef(variables);
  varsRef.current = variables;
  useEffect(() => {
    if (skip) return;
    let cancelled = false;
    setState((s) => ({ status: 'loading', data: s.data, error: undefined }));
    gql(doc, varsRef.current).then(
      (data) => !cancelled && setState({ status: 'ready', data, error: undefined }),
      (error: unknown) => !cancelled && setState((s) => ({ status: 'error', data: s.data, error })),
    );
    return () => {
      cancelled = true;
    };
  }, [gql, doc, key, skip, nonce]);
  const refetch = useCallback(() => setNonce((n) => n + 1), []);
  return { state, data: state.data, error: state.error, loading: state.status === 'loading' && !skip, refetch };
}

/** A live subscription for as long as the component is mounted (and `enabled`). */
export function useSubscription<R, V>(
  doc: TypedDocumentString<R, V>,
  variables: V,
  onData: (data: R) => void,
  { enabled = true }: { enabled?: boolean } = {},
): void {
  const api = useApi();
  const { session } = useSession();
  const token = session?.token;
  const handler = useRef(onData);
  handler.current = onData;
  const key = JSON.stringify(variables ?? {});
  const varsRef = useRef(variables);
  varsRef.current = variables;
  useEffect(() => {
    if (!enabled) return;
    return api.subscribe(doc, varsRef.current, token, {
      next: (d) => handler.current(d),
      // The socket reconnects by itself; a page keeps what it has and catches up on the next event.
      error: () => {},
    });
  }, [api, doc, key, token, enabled]);
}
