/**
 * The GraphQL API as the end-to-end tests use it: to set up what other roles would have done (so each
 * role's test drives only its own actions through the browser) and to read back on-chain results.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import type { Locator, Page } from 'playwright-core';

import { DEMO_PASSWORD } from './browser';
import { reportFailure } from './diagnose';

export async function gql<T = Record<string, unknown>>(baseUrl: string, token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await r.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(`${query.slice(0, 60)}…: ${body.errors.map((e) => e.message).join('; ')}`);
  return body.data as T;
}

/** A GraphQL answer as it came, errors included (for checking a refusal's code). */
export async function gqlRaw<T = Record<string, unknown>>(
  baseUrl: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const r = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await r.json()) as { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** Sign in over the API; returns the bearer token. */
export async function signIn(baseUrl: string, username: string, password: string): Promise<string> {
  const d = await gql<{ login: { token: string } }>(baseUrl, null, 'mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}', { u: username, p: password });
  return d.login.token;
}

const tokens = new Map<string, string>();

/** A bearer token for a demo user (cached for the run). */
export async function tokenOf(baseUrl: string, username: string): Promise<string> {
  const cached = tokens.get(username);
  if (cached) return cached;
  const d = await gql<{ login: { token: string } }>(baseUrl, null, 'mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}', { u: username, p: DEMO_PASSWORD });
  tokens.set(username, d.login.token);
  return d.login.token;
}

/** Run a query or mutation as a demo user. */
export async function as<T = Record<string, unknown>>(baseUrl: string, username: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  return gql<T>(baseUrl, await tokenOf(baseUrl, username), query, variables);
}

/** A suffix unique to this run, so every test creates its own ids on the shared demo chain. */
export const RUN = Date.now().toString(36).toUpperCase();

let serial = 0;
/** A fresh 20-digit 数电票 number. */
export function invoiceNumber(): string {
  serial += 1;
  return `26312${String(Date.now()).slice(-13)}${String(serial % 100).padStart(2, '0')}`;
}

/** `YYYY-MM-DD` in China Standard Time, `days` from today. */
export function cstDate(days = 0): string {
  return new Date(Date.now() + 8 * 3600_000 + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Wait for the outcome message of the transaction labelled `action`: "「action」已上链（区块 #n）", or fail with
 * the refusal the UI shows ("「action」失败：…"). Returns the block height. If neither comes, the error says
 * what the page showed (open dialogs, messages, requests without an answer) and where the report is.
 */
export async function committed(p: Page, action: string): Promise<number> {
  const done = p.locator('.ant-message').getByText(`「${action}」已上链`);
  const failed = p.locator('.ant-message').getByText(`「${action}」失败`);
  await outcome(p, action, done.or(failed).first(), 'no 已上链 or 失败 message');
  if (await failed.count()) throw new Error(`${action}: ${await failed.first().innerText()}`);
  const text = await done.first().innerText();
  const m = /区块 #(\d+)/.exec(text);
  if (!m) throw new Error(`no block height in "${text}"`);
  return Number(m[1]);
}

/** Wait for the refusal message of `action` and return its text. */
export async function refused(p: Page, action: string): Promise<string> {
  const failed = p.locator('.ant-message').getByText(`「${action}」失败`);
  await outcome(p, action, failed.first(), 'no 失败 message');
  return failed.first().innerText();
}

/** Wait up to a minute for `message`; on a timeout, save a failure report and say what the page showed. */
async function outcome(p: Page, action: string, message: Locator, missing: string): Promise<void> {
  try {
    await message.waitFor({ timeout: 60_000 });
  } catch (e) {
    const submitting = await p.locator('.ant-message').getByText(`正在提交「${action}」`).count().catch(() => 0);
    const why = submitting
      ? 'the action was submitted and is still waiting for its answer'
      : 'no 正在提交 message either: most likely nothing was submitted (journal.txt lists every message shown)';
    const report = await reportFailure(p, action, `${missing} within 60 s; ${why}`);
    throw new Error(`「${action}」: ${missing} within 60 s; ${why}\n  ${report.summary}\n(${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
}

/**
 * The dialog titled `title` once it is open and still: antd zooms a modal in (rc-motion: prepare, start,
 * then about 0.3 s of animation), and a click while it grows can press on its button and release beside it
 * as the button moves — the browser then sends the click to the modal's wrapper, the form is never
 * submitted and no message ever comes. Wait for the motion to end before filling or clicking.
 */
export async function dialog(p: Page, title: string | RegExp): Promise<Locator> {
  const d = p.getByRole('dialog', { name: title, exact: true });
  await d.and(p.locator('.ant-modal:not([class*="-zoom-"])')).waitFor();
  return d;
}

/** Choose `option` in a searchable select: type it, wait until it is the active option, press Enter. */
export async function pick(p: Page, combobox: string, option: string, scope?: ReturnType<Page['locator']>): Promise<void> {
  const box = (scope ?? p).getByRole('combobox', { name: combobox, exact: true });
  await box.click();
  await box.fill(option);
  await p.locator(`.ant-select-dropdown:visible .ant-select-item-option-active[title="${option}"]`).waitFor();
  await box.press('Enter');
}

/** Choose `option` in a plain (non-searchable) select. */
export async function choose(p: Page, combobox: string, option: string, scope?: ReturnType<Page['locator']>): Promise<void> {
  const box = (scope ?? p).getByRole('combobox', { name: combobox, exact: true });
  // The shown value lies over the (read-only) input: click the select's own frame, once it is stable
  // (a dialog may still be opening).
  await box.locator('xpath=ancestor::div[contains(@class,"ant-select-selector")][1]').click();
  await p.locator('.ant-select-dropdown:visible').getByTitle(option, { exact: true }).click();
}

/** Poll a GraphQL read until `check` accepts it (the read model indexes a block shortly after commit). */
export async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let err: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (check(last)) return last;
    } catch (e) {
      err = e;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what}: last ${JSON.stringify(last)}${err ? ` (${String(err)})` : ''}`);
}


/**
 * Give `username` a one-time password, as `scf admin bootstrap` does for an organisation's first admin:
 * the flag in the read model's users table, which the server reads on every sign-in and request. The demo
 * runs no node API, so the bootstrap command itself cannot run against it; Python's sqlite3 writes the flag.
 */
export function markOneTimePassword(dataDir: string, username: string): void {
  const script = [
    'import sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1], timeout=30)',
    'n = db.execute("UPDATE users SET must_change_password = 1 WHERE username = ?", (sys.argv[2],)).rowcount',
    'db.commit()',
    'sys.exit(0 if n == 1 else 3)',
  ].join('\n');
  execFileSync('python3', ['-c', script, join(dataDir, 'read-model.sqlite'), username], { stdio: 'pipe' });
}
