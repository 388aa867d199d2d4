import { createContext, useContext, useMemo, type ReactNode } from 'react';

import { createApi } from './client';
import type { ScfApi } from './types';

const ApiContext = createContext<ScfApi | null>(null);

/** Provides the API to pages; tests pass their own implementation. */
export function ApiProvider({ api, children }: { api?: ScfApi; children: ReactNode }) {
  const value = useMemo(() => api ?? createApi(), [api]);
  return <ApiContext.Provider value={value}>{children}</ApiContext.Provider>;
}

export function useApi(): ScfApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiProvider');
  return api;
}
