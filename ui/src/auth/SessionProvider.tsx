import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

import { useApi } from '../api/ApiProvider';
import type { Session } from '../api/types';

interface SessionValue {
  session: Session | null;
  login: (username: string, password: string) => Promise<void>;
  logout: () => void;
  /** Change the signed-in user's password; the session continues (complete, if it was held back). */
  changePassword: (oldPassword: string, newPassword: string) => Promise<void>;
}

const STORAGE_KEY = 'scf.session';

/** The session lives in sessionStorage: it ends with the tab, and no password is ever stored. */
function restore(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

function store(s: Session): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
  } catch {
    // Storage unavailable: the session lasts until reload.
  }
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children, initial }: { children: ReactNode; initial?: Session | null }) {
  const api = useApi();
  const [session, setSession] = useState<Session | null>(initial === undefined ? restore : initial);
  const login = useCallback(
    async (username: string, password: string) => {
      const s = await api.login(username, password);
      store(s);
      setSession(s);
    },
    [api],
  );
  const logout = useCallback(() => {
    setSession((current) => {
      // Best effort: the server forgets the token; the tab forgets it regardless.
      if (current) api.logout(current.token).catch(() => {});
      return null;
    });
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // Nothing stored.
    }
  }, [api]);
  const changePassword = useCallback(
    async (oldPassword: string, newPassword: string) => {
      if (!session) throw new Error('changePassword without a session');
      const s = await api.changePassword(session, oldPassword, newPassword);
      store(s);
      setSession(s);
    },
    [api, session],
  );
  const value = useMemo(() => ({ session, login, logout, changePassword }), [session, login, logout, changePassword]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}
