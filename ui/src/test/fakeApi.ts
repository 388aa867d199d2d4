import type { ScfApi, SubscriptionSink } from '../api/types';

type Handler = (variables: Record<string, unknown>) => unknown;

/** The operation name of a generated document (`query Vouchers(…)` → `Vouchers`). */
export function operationName(doc: { toString(): string }): string {
  const m = /\b(?:query|mutation|subscription)\s+(\w+)/.exec(doc.toString());
  return m?.[1] ?? '';
}

export interface FakeApi extends ScfApi {
  /** Every request made, in order. */
  calls: { op: string; variables: Record<string, unknown>; token: string | undefined }[];
  /** Push data to every open subscription of that operation. */
  emit(op: string, data: unknown): void;
}

/**
 * An in-memory API for page tests: `handlers` answer operations by name (a thrown error becomes a
 * rejected request); anything unhandled rejects so a test notices an unexpected call.
 */
export function fakeApi(handlers: Record<string, Handler> = {}, overrides: Partial<ScfApi> = {}): FakeApi {
  const calls: FakeApi['calls'] = [];
  const sinks = new Map<string, Set<SubscriptionSink<unknown>>>();
  const api: FakeApi = {
    calls,
    async request(doc, variables, token) {
      const op = operationName(doc);
      const vars = (variables ?? {}) as Record<string, unknown>;
      calls.push({ op, variables: vars, token });
      const h = handlers[op];
      if (!h) throw new Error(`unexpected operation ${op}`);
      return (await h(vars)) as never;
    },
    subscribe(doc, _variables, _token, sink) {
      const op = operationName(doc);
      const set = sinks.get(op) ?? new Set();
      set.add(sink as SubscriptionSink<unknown>);
      sinks.set(op, set);
      return () => set.delete(sink as SubscriptionSink<unknown>);
    },
    emit(op, data) {
      for (const s of sinks.get(op) ?? []) s.next(data);
    },
    login: () => Promise.reject(new Error('login not expected')),
    logout: () => Promise.resolve(),
    changePassword: () => Promise.reject(new Error('changePassword not expected')),
    lotPage: () => Promise.reject(new Error('lotPage not expected')),
    ...overrides,
  };
  return api;
}
