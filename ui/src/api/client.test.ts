import { describe, expect, it } from 'vitest';

import { ApiError, createApi, type Fetch } from './client';

const respond = (status: number, body: unknown): Fetch => async () =>
  new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('GraphQL client', () => {
  it('returns data and sends the query with variables', async () => {
    let sent: { query: string; variables: Record<string, unknown> } | null = null;
    const api = createApi(async (_url, init) => {
      sent = JSON.parse(String(init.body));
      return new Response(JSON.stringify({ data: { lotPage: null } }), { status: 200 });
    });
    await expect(api.lotPage('06901234000337', 'Y260302')).resolves.toBeNull();
    expect(sent!.variables).toEqual({ gtin: '06901234000337', lot: 'Y260302' });
    expect(sent!.query).toContain('lotPage(gtin: $gtin, lot: $lot)');
  });
  it('turns GraphQL errors, HTTP errors and network failures into typed errors', async () => {
    await expect(createApi(respond(200, { errors: [{ message: 'unknown field lotPage' }] })).lotPage('x', 'y')).rejects.toMatchObject({
      kind: 'graphql',
      detail: 'unknown field lotPage',
    });
    await expect(createApi(respond(502, 'Bad gateway')).lotPage('x', 'y')).rejects.toMatchObject({ kind: 'http', status: 502 });
    const down: Fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    await expect(createApi(down).lotPage('x', 'y')).rejects.toBeInstanceOf(ApiError);
  });
});

describe('login', () => {
  it('logs in, then reads the organisation with the bearer token', async () => {
    const calls: { auth: string | null; body: { variables: Record<string, unknown> } }[] = [];
    const api = createApi(async (_url, init) => {
      const headers = new Headers(init.headers);
      const body = JSON.parse(String(init.body));
      calls.push({ auth: headers.get('authorization'), body });
      const data = body.query.includes('login(')
        ? { login: { token: 't0k', user: { id: 'u1', username: 'alice', orgId: 'SUP1', role: 'OPERATOR' } } }
        : { organisation: { id: 'SUP1', name: '一级供应商', roles: ['supplier'] } };
      return new Response(JSON.stringify({ data }), { status: 200 });
    });
    const s = await api.login('alice', 'pw');
    expect(s).toEqual({
      token: 't0k',
      user: { id: 'u1', username: 'alice', orgId: 'SUP1', role: 'operator' },
      organisation: { id: 'SUP1', name: '一级供应商', roles: ['supplier'] },
    });
    expect(calls[0]!.auth).toBeNull();
    expect(calls[1]!.auth).toBe('Bearer t0k');
    expect(calls[1]!.body.variables).toEqual({ id: 'SUP1' });
  });
});

describe('one-time passwords', () => {
  const server = () => {
    const ops: string[] = [];
    const api = createApi(async (_url, init) => {
      const body = JSON.parse(String(init.body)) as { query: string };
      const op = /\b(?:query|mutation)\s+(\w+)/.exec(body.query)?.[1] ?? '';
      ops.push(op);
      const user = { id: 'u2', username: 'first.admin', orgId: 'NEWMAT', role: 'ADMIN' };
      const data =
        op === 'Login'
          ? { login: { token: 't1', user: { ...user, mustChangePassword: true } } }
          : op === 'ChangePassword'
            ? { changePassword: { ...user, mustChangePassword: false } }
            : { organisation: { id: 'NEWMAT', name: '上海新材料', roles: ['supplier'] } };
      return new Response(JSON.stringify({ data }), { status: 200 });
    });
    return { api, ops };
  };

  it('signs in without reading the organisation, which the server would refuse', async () => {
    const { api, ops } = server();
    const s = await api.login('first.admin', 'OneTime123');
    expect(ops).toEqual(['Login']);
    expect(s.user.mustChangePassword).toBe(true);
    expect(s.organisation).toEqual({ id: 'NEWMAT', name: 'NEWMAT', roles: [] });
  });

  it('reads the organisation once the password is changed', async () => {
    const { api, ops } = server();
    const forced = await api.login('first.admin', 'OneTime123');
    const s = await api.changePassword(forced, 'OneTime123', 'a new password');
    expect(ops).toEqual(['Login', 'ChangePassword', 'Organisation']);
    expect(s).toEqual({
      token: 't1',
      user: { id: 'u2', username: 'first.admin', orgId: 'NEWMAT', role: 'admin', mustChangePassword: false },
      organisation: { id: 'NEWMAT', name: '上海新材料', roles: ['supplier'] },
    });
    // A complete session keeps its organisation: no second read.
    await api.changePassword(s, 'a new password', 'another password');
    expect(ops).toEqual(['Login', 'ChangePassword', 'Organisation', 'ChangePassword']);
  });
});

describe('subscriptions', () => {
  it('open one graphql-ws socket per token, send the token in connection_init, and deliver data and errors', async () => {
    const { NewBlocksDocument } = await import('./generated');
    const made: { url: string; params: unknown }[] = [];
    const sinks: { next: (v: unknown) => void; error: (e: unknown) => void }[] = [];
    let disposed = 0;
    const createSocket = ((opts: { url: string; connectionParams?: unknown }) => {
      made.push({ url: opts.url, params: opts.connectionParams });
      return {
        subscribe: (payload: { query: string }, sink: { next: (v: unknown) => void; error: (e: unknown) => void }) => {
          expect(payload.query).toContain('newBlocks');
          sinks.push(sink);
          return () => {
            disposed += 1;
          };
        },
      };
    }) as never;
    const api = createApi(undefined, '/graphql', { socketUrl: 'ws://x/graphql', createSocket });
    const got: unknown[] = [];
    const errors: unknown[] = [];
    const stop = api.subscribe(NewBlocksDocument, {}, 'tok', { next: (d) => got.push(d), error: (e) => errors.push(e) });
    api.subscribe(NewBlocksDocument, {}, 'tok', { next: () => {}, error: () => {} });
    api.subscribe(NewBlocksDocument, {}, undefined, { next: () => {}, error: () => {} });
    expect(made).toEqual([
      { url: 'ws://x/graphql', params: { token: 'tok' } },
      { url: 'ws://x/graphql', params: {} },
    ]);
    sinks[0]!.next({ data: { newBlocks: { height: 7 } } });
    sinks[0]!.next({ errors: [{ message: 'authentication required', extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(got).toEqual([{ newBlocks: { height: 7 } }]);
    expect(errors[0]).toMatchObject({ kind: 'graphql', code: 'UNAUTHENTICATED' });
    stop();
    expect(disposed).toBe(1);
  });
});
