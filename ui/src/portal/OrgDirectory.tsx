import { createContext, useContext, useMemo, type ReactNode } from 'react';

import { OrganisationsDocument, type OrganisationFieldsFragment } from '../api/generated';
import { useQuery } from '../api/hooks';

interface Directory {
  orgs: OrganisationFieldsFragment[];
  byId: ReadonlyMap<string, OrganisationFieldsFragment>;
  /** The organisation's name, or its id while the directory loads or if it is unknown. */
  name: (id: string | null | undefined) => string;
}

const empty: Directory = { orgs: [], byId: new Map(), name: (id) => id ?? '' };
const DirectoryContext = createContext<Directory>(empty);

/** The consortium's member directory (any signed-in user may read it), loaded once per session. */
export function OrgDirectoryProvider({ children }: { children: ReactNode }) {
  const { data } = useQuery(OrganisationsDocument, {});
  const value = useMemo<Directory>(() => {
    const orgs = data?.organisations ?? [];
    const byId = new Map(orgs.map((o) => [o.id, o]));
    return { orgs, byId, name: (id) => (id ? (byId.get(id)?.name ?? id) : '') };
  }, [data]);
  return <DirectoryContext.Provider value={value}>{children}</DirectoryContext.Provider>;
}

export function useOrgs(): Directory {
  return useContext(DirectoryContext);
}
