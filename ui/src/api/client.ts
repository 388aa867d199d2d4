/**
 * The one place the UI talks to the `scf` server: GraphQL over HTTP POST at /graphql, subscriptions over
 * graphql-ws on the same path.
 *
 * Documents are typed and generated from the checked-in SDL (`npm run codegen` → generated.ts), so an
 * operation that asks for a field the server does not have fails at codegen time, not in a user's browser.
 */
import { createClient, type Client } from 'graphql-ws';

import { ChangePasswordDocument, LoginDocument, LogoutDocument, LotPageDocument, OrganisationDocument, type TypedDocumentString } from './generated';
import type { OrgRole, ScfApi, Session, Subscription, SubscriptionSink } from './types';

export type ApiErrorKind = 'network' | 'http' | 'graphql' | 'shape';

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    readonly detail: string,
    readonly status?: number,
    /** The server's error code (`extensions.code`: UNAUTHENTICATED, FORBIDDEN, CONFLICT, …). */
    readonly code?: string,
  ) {
    super(`${kind}: ${detail}`);
    this.name = 'ApiError';
  }
}

interface GraphqlError {
  message: string;
  extensions?: { code?: string; rule?: string } | null;
}

interface GraphqlResponse<T> {
  data?: T | null;
  errors?: GraphqlError[];
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
  if (body.errors && body.errors.length > 0) throw graphqlError(body.errors, res.status);
  if (!res.ok) throw new ApiError('http', res.statusText, res.status);
  if (body.data === undefined || body.data === null) throw new ApiError('shape', 'response has no data');
  return body.data;
}

function graphqlError(errors: readonly GraphqlError[], status?: number): ApiError {
  const first = errors[0];
  const code = first?.extensions?.rule ?? first?.extensions?.code ?? undefined;
  return new ApiError('graphql', errors.map((e) => e.message).join('; '), status, code);
}


const ORG_ROLES: readonly OrgRole[] = [
  'core_enterprise',
  'supplier',
  'funder',
  'warehouse_operator',
  'logistics',
  'tax_authority',
  'regulator',
  'producer',
  'retailer',
];

/** The roles the UI knows; a role added on the server later is ignored rather than crashing the shell. */
function orgRoles(roles: readonly string[]): OrgRole[] {
  return roles.map((r) => r.toLowerCase()).filter((r): r is OrgRole => (ORG_ROLES as readonly string[]).includes(r));
}

/** async-graphql serialises enums in SCREAMING_CASE; the UI uses lower case. */
function userRole(r: string): Session['user']['role'] {
  const role = r.toLowerCase();
  if (role === 'admin' || role === 'operator' || role === 'viewer') return role;
  throw new ApiError('shape', `unknown user role ${r}`);
}

/** `ws(s)://<host>/graphql` for the page's origin. */
function defaultSocketUrl(endpoint: string): string {
  if (/^wss?:/.test(endpoint)) return endpoint;
  if (typeof location === 'undefined') return `ws://127.0.0.1${endpoint}`;
  const url = new URL(endpoint, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

export interface ApiOptions {
  /** graphql-ws endpoint; defaults to the HTTP endpoint with a ws(s) scheme. */
  socketUrl?: string;
  /** For tests: make the subscription client. */
  createSocket?: typeof createClient;
}

export function createApi(
  fetchFn: Fetch = (i, init) => fetch(i, init),
  endpoint = '/graphql',
  options: ApiOptions = {},
): ScfApi {
  const request = <R, V>(doc: TypedDocumentString<R, V>, variables: V, token?: string): Promise<R> =>
    graphqlRequest<R>(fetchFn, endpoint, doc.toString(), (variables ?? {}) as Record<string, unknown>, token);

  // One socket per token: a login or logout in the same tab gets a fresh connection with its own caller.
  const sockets = new Map<string, Client>();
  const socketFor = (token: string | undefined): Client => {
    const key = token ?? '';
    let c = sockets.get(key);
    if (!c) {
      c = (options.createSocket ?? createClient)({
        url: options.socketUrl ?? defaultSocketUrl(endpoint),
        connectionParams: token ? { token } : {},
        lazy: true,
        retryAttempts: Infinity,
        shouldRetry: () => true,
      });
      sockets.set(key, c);
    }
    return c;
  };

  /**
   * The session of a signed-in `user`: its organisation is read with the new token, except while a
   * one-time password is unchanged (the server would refuse; only the organisation's id is known then).
   */
  const withOrganisation = async (token: string, user: Session['user']): Promise<Session> => {
    if (user.mustChangePassword) return { token, user, organisation: { id: user.orgId, name: user.orgId, roles: [] } };
    const o = await request(OrganisationDocument, { id: user.orgId }, token);
    return { token, user, organisation: { ...o.organisation, roles: orgRoles(o.organisation.roles) } };
  };

  return {
    request,
    subscribe<R, V>(doc: TypedDocumentString<R, V>, variables: V, token: string | undefined, sink: SubscriptionSink<R>): Subscription {
      const client = socketFor(token);
      return client.subscribe<R>(
        { query: doc.toString(), variables: (variables ?? {}) as Record<string, unknown> },
        {
          next: (msg) => {
            if (msg.errors && msg.errors.length > 0) {
              sink.error(graphqlError(msg.errors as GraphqlError[]));
            } else if (msg.data) {
              sink.next(msg.data as R);
            }
          },
          error: (e) => sink.error(new ApiError('network', e instanceof Error ? e.message : 'subscription closed')),
          complete: () => {},
        },
      );
    },
    async login(username, password) {
      const d = await request(LoginDocument, { username, password });
      return withOrganisation(d.login.token, { ...d.login.user, role: userRole(d.login.user.role) });
    },
    async logout(token) {
      await request(LogoutDocument, {}, token);
    },
    async changePassword(session, oldPassword, newPassword) {
      const d = await request(ChangePasswordDocument, { oldPassword, newPassword }, session.token);
      const user = { ...d.changePassword, role: userRole(d.changePassword.role) };
      // The organisation is already known unless a one-time password kept it from being read.
      if (session.organisation.roles.length > 0 && !session.user.mustChangePassword) return { ...session, user };
      return withOrganisation(session.token, user);
    },
    async lotPage(gtin, lot) {
      const d = await request(LotPageDocument, { gtin, lot });
      return d.lotPage;
    },
  };
}
