/**
 * What a failed end-to-end step leaves behind: a full-page screenshot, the page's visible text, the state of
 * any open dialog (field values, errors, whether its button is busy), the messages shown so far, the
 * browser console and the page's last GraphQL requests (pending ones too) and subscription frames, and the
 * tail of the demo's log — in `e2e/failures/<time>-<name>/` (not committed).
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Page, Request } from 'playwright-core';
import { inject } from 'vitest';

import { FAILURES } from './demo';

const KEEP = 600;

interface Journal {
  lines: string[];
  pending: Map<Request, { start: number; what: string }>;
}

const journals = new WeakMap<Page, Journal>();

const clock = () => new Date().toISOString().slice(11, 23);
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

/** `mutation($n:String!){freezeWarehouseReceipt(…` → `mutation freezeWarehouseReceipt {"n":…}` */
function describeRequest(r: Request): string {
  try {
    const body = JSON.parse(r.postData() ?? '{}') as { query?: string; variables?: unknown };
    const q = (body.query ?? '').replace(/\s+/g, ' ');
    const kind = /^\s*(query|mutation|subscription)/.exec(q)?.[1] ?? 'query';
    const field = /\{\s*(\w+)/.exec(q)?.[1] ?? '?';
    return `${kind} ${field} ${cut(JSON.stringify(body.variables ?? {}), 300)}`;
  } catch {
    return cut(r.postData() ?? '', 200);
  }
}

const isGraphql = (r: Request) => r.method() === 'POST' && new URL(r.url()).pathname === '/graphql';

/**
 * Every antd message as it appears, changes and goes, logged to the console (so the journal shows whether
 * an outcome message came and went, or never came).
 */
function recordMessages() {
  let last = '';
  const look = () => {
    const now = Array.from(document.querySelectorAll('.ant-message-notice'))
      .map((n) => (n as HTMLElement).innerText.trim())
      .join(' | ');
    if (now !== last) {
      last = now;
      console.debug(`[messages] ${now || '(none)'}`);
    }
  };
  const start = () => new MutationObserver(look).observe(document.documentElement, { childList: true, subtree: true, characterData: true });
  if (document.documentElement) start();
  else document.addEventListener('DOMContentLoaded', start);
}

/**
 * Keep a journal of `page` for failure reports: console, page errors, navigations, GraphQL over HTTP (with
 * answers) and over the socket, messages. Call once, right after the page is made.
 */
export async function observe(page: Page): Promise<void> {
  if (journals.has(page)) return;
  const j: Journal = { lines: [], pending: new Map() };
  journals.set(page, j);
  const note = (kind: string, text: string) => {
    j.lines.push(`${clock()} ${kind} ${text}`);
    if (j.lines.length > KEEP) j.lines.splice(0, j.lines.length - KEEP);
  };
  page.on('console', (m) => note(`console.${m.type()}`, cut(m.text(), 2000)));
  page.on('pageerror', (e) => note('pageerror', e.stack ?? e.message));
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) note('navigated', f.url());
  });
  page.on('request', (r) => {
    if (!isGraphql(r)) return;
    const what = describeRequest(r);
    j.pending.set(r, { start: Date.now(), what });
    note('gql →', what);
  });
  page.on('requestfinished', (r) => {
    const p = j.pending.get(r);
    if (!p) return;
    j.pending.delete(r);
    void r
      .response()
      .then(async (res) => `${res?.status() ?? '?'} ${cut((await res?.text().catch(() => '')) ?? '', 1500)}`)
      .catch((e: unknown) => `(no body: ${String(e)})`)
      .then((answer) => note('gql ←', `${Date.now() - p.start} ms ${p.what} → ${answer}`));
  });
  page.on('requestfailed', (r) => {
    const p = j.pending.get(r);
    if (!p) return;
    j.pending.delete(r);
    note('gql ✗', `${Date.now() - p.start} ms ${p.what} → ${r.failure()?.errorText ?? 'failed'}`);
  });
  page.on('websocket', (ws) => {
    note('ws open', ws.url());
    ws.on('framereceived', (f) => note('ws ←', cut(String(f.payload), 300)));
    ws.on('framesent', (f) => note('ws →', cut(String(f.payload), 300)));
    ws.on('close', () => note('ws close', ws.url()));
  });
  await page.addInitScript(recordMessages);
}

/** The journal so far, requests still waiting for an answer last. */
export function journal(page: Page): string {
  const j = journals.get(page);
  if (!j) return '(page not observed: call observe(page) after newPage)';
  const pending = [...j.pending.values()].map((p) => `PENDING for ${Date.now() - p.start} ms: ${p.what}`);
  return [...j.lines, ...(pending.length ? ['', ...pending] : [])].join('\n');
}

/** What the page shows in its dialogs and messages, for the error message itself. */
interface Visible {
  url: string;
  dialogs: { title: string; motion: string; fields: { label: string; value: string }[]; errors: string[]; buttons: string[] }[];
  messages: string[];
}

async function visibleState(page: Page): Promise<Visible> {
  return page.evaluate(() => {
    const shown = (e: Element) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
    };
    const dialogs = Array.from(document.querySelectorAll('[role="dialog"]'))
      .filter(shown)
      .map((d) => {
        const title = document.getElementById(d.getAttribute('aria-labelledby') ?? '')?.textContent ?? '';
        const fields = Array.from(d.querySelectorAll('input, textarea'))
          .filter((f) => (f as HTMLInputElement).type !== 'hidden')
          .map((f) => ({ label: f.getAttribute('aria-label') ?? f.id ?? '', value: (f as HTMLInputElement).value }));
        const errors = Array.from(d.querySelectorAll('.ant-form-item-explain-error')).map((e) => (e as HTMLElement).innerText);
        const buttons = Array.from(d.querySelectorAll('button')).map((b) => {
          const flags = [b.disabled ? 'disabled' : '', b.classList.contains('ant-btn-loading') ? 'loading' : ''].filter(Boolean).join(',');
          return `${(b.innerText || b.getAttribute('aria-label') || '').trim()}${flags ? ` [${flags}]` : ''}`;
        });
        const motion = (d.className.match(/\S*-(appear|enter|leave)\S*/g) ?? []).join(' ');
        return { title, motion, fields, errors, buttons };
      });
    const messages = Array.from(document.querySelectorAll('.ant-message-notice')).map((n) => (n as HTMLElement).innerText.trim());
    return { url: location.href, dialogs, messages };
  });
}

function demoLogTail(bytes = 200_000): string | null {
  let path: string | undefined;
  try {
    path = inject('demoLog');
  } catch {
    return null;
  }
  if (!path || !existsSync(path)) return null;
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, bytes));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString();
  } finally {
    closeSync(fd);
  }
}

const slug = (s: string) => s.replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'failure';

/**
 * Save what the page shows and what it did into `e2e/failures/<time>-<name>/`. Returns the directory and
 * a few lines for an error message (open dialogs, messages, requests still waiting). Never throws: a
 * report must not hide the failure it reports.
 */
export async function reportFailure(page: Page, name: string, why = ''): Promise<{ dir: string; summary: string }> {
  const dir = join(FAILURES, `${new Date().toISOString().replace(/[:.]/g, '-')}-${slug(name)}`);
  mkdirSync(dir, { recursive: true });
  const notes: string[] = [];
  const attempt = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (e) {
      notes.push(`${what}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  };
  let state: Visible | null = null;
  await attempt('state', async () => {
    state = await visibleState(page);
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2));
  });
  await attempt('screenshot', () => page.screenshot({ path: join(dir, 'page.png'), fullPage: true, timeout: 15_000 }).then(() => {}));
  await attempt('text', async () => writeFileSync(join(dir, 'text.txt'), await page.locator('body').innerText({ timeout: 5_000 })));
  writeFileSync(join(dir, 'journal.txt'), journal(page));
  const log = demoLogTail();
  if (log !== null) writeFileSync(join(dir, 'demo.log'), log);
  writeFileSync(join(dir, 'README.txt'), [`${name}${why ? `: ${why}` : ''}`, ...notes].join('\n') + '\n');

  const s = state as Visible | null;
  const pending = [...(journals.get(page)?.pending.values() ?? [])].map((p) => `${p.what} (waiting ${Date.now() - p.start} ms)`);
  const summary = [
    s ? `page ${s.url}` : null,
    ...(s?.dialogs ?? []).map(
      (d) =>
        `open dialog 「${d.title}」${d.motion ? ` (still animating: ${d.motion})` : ''}: ${d.fields.map((f) => `${f.label}=${JSON.stringify(f.value)}`).join(', ') || 'no fields'}; buttons ${d.buttons.join(' / ')}${d.errors.length ? `; errors ${d.errors.join(' / ')}` : ''}`,
    ),
    s ? `messages: ${s.messages.length ? s.messages.join(' | ') : '(none)'}` : null,
    pending.length ? `GraphQL requests without an answer: ${pending.join('; ')}` : 'no GraphQL request waiting for an answer',
    `saved in ${dir} (page.png, text.txt, state.json, journal.txt${log !== null ? ', demo.log' : ''})`,
  ]
    .filter((l): l is string => !!l)
    .join('\n  ');
  return { dir, summary };
}
