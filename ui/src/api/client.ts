/**
 * The one place the UI talks to the `scf` server: GraphQL over HTTP POST at /graphql.
 *
 * The query documents below follow graphql/src/schema (login) and the planned public lot query; once
 * graphql/schema.graphql is checked in they are replaced by typed documents generated from the SDL.
 */
import type { LotPage, ScfApi, Session } from './types';

export type ApiErrorKind = 'network' | 'http' | 'graphql' | 'shape';

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    readonly detail: string,
    readonly status?: number,
  ) {
    super(`${kind}: ${detail}`);
    this.name = 'ApiError';
  }
}

interface GraphqlResponse<T> {
  data?: T | null;
  errors?: { message: string }[];
}

export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export async function graphqlRequest<T>(
  fetchFn: Fetch,
  endpoint: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<T> {
  let res: Response;
  try {
    res = await fetchFn(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new ApiError('network', e instanceof Error ? e.message : String(e));
  }
  let body: GraphqlResponse<T>;
  try {
    body = (await res.json()) as GraphqlResponse<T>;
  } catch {
    throw new ApiError('http', res.statusText || 'not JSON', res.status);
  }
  if (body.errors && body.errors.length > 0) {
    throw new ApiError('graphql', body.errors.map((e) => e.message).join('; '), res.status);
  }
  if (!res.ok) throw new ApiError('http', res.statusText, res.status);
  if (body.data === undefined || body.data === null) throw new ApiError('shape', 'response has no data');
  return body.data;
}

const LOGIN = `mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    token
    user { id username orgId role }
  }
}`;

const ORGANISATION = `query Organisation($id: String!) {
  organisation(id: $id) { id name roles }
}`;

const LOT_PAGE = `query LotPage($gtin: String!, $lot: String!) {
  lotPage(gtin: $gtin, lot: $lot) {
    product { gtin name brand }
    lot { number producedOn expiresOn }
    origin { name region }
    steps {
      id bizStep eventTime location eventHash
      recordedBy { orgId orgName }
      proof {
        eventHash receiptHex headerHex
        receiptProof { index count steps { sibling siblingOnLeft } }
        txProof { index count steps { sibling siblingOnLeft } }
        certificate { height round blockHash signatures { validator signature } }
        validators { name publicKey power }
      }
    }
    sensors { deviceId quantity unit min max readings { timeMs value } }
    certificates { id name issuer validUntil }
  }
}`;

interface LoginData {
  login: { token: string; user: Omit<Session['user'], 'role'> & { role: string } };
}

/** async-graphql serialises enums in SCREAMING_CASE; the UI uses lower case. */
function userRole(r: string): Session['user']['role'] {
  const role = r.toLowerCase();
  if (role === 'admin' || role === 'operator' || role === 'viewer') return role;
  throw new ApiError('shape', `unknown user role ${r}`);
}

export function createApi(fetchFn: Fetch = (i, init) => fetch(i, init), endpoint = '/graphql'): ScfApi {
  return {
    async login(username, password) {
      const d = await graphqlRequest<LoginData>(fetchFn, endpoint, LOGIN, { username, password });
      const { token } = d.login;
      const user = { ...d.login.user, role: userRole(d.login.user.role) };
      const o = await graphqlRequest<{ organisation: Session['organisation'] }>(
        fetchFn,
        endpoint,
        ORGANISATION,
        { id: user.orgId },
        token,
      );
      return { token, user, organisation: o.organisation };
    },
    async lotPage(gtin, lot) {
      const d = await graphqlRequest<{ lotPage: LotPage | null }>(fetchFn, endpoint, LOT_PAGE, { gtin, lot });
      return d.lotPage;
    },
  };
}
