/**
 * Start `scf demo` on a free port with a fresh data directory and wait until it is healthy. The binary is
 * not built here: `SCF_BIN`, else `$CARGO_TARGET_DIR/debug/scf` (CARGO_TARGET_DIR defaults to
 * `$HOME/.cache/scf-target`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = resolve(UI_DIR, '..');
/** Failure reports (`diagnose.ts`) and the demo's log of a failed run; not committed. */
export const FAILURES = join(UI_DIR, 'e2e', 'failures');

export function scfBinary(): string {
  if (process.env.SCF_BIN) return resolve(process.env.SCF_BIN);
  const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache', 'scf-target');
  return join(resolve(REPO_DIR, target), 'debug', 'scf');
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

export interface Demo {
  baseUrl: string;
  port: number;
  dataDir: string;
  /** The last 64 kB the demo printed, for failure messages. */
  log: () => string;
  /** Everything the demo printed (a file beside the data directory; `stop` leaves it). */
  logFile: string;
  stop: () => Promise<void>;
}

/**
 * Poll `check` until it returns true, or fail after `timeoutMs` with `what`. `fatal` is asked first on
 * every round: a message from it ends the wait at once (e.g. the process died).
 */
export async function until(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  { everyMs = 250, fatal = () => null }: { everyMs?: number; fatal?: () => string | null } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    const dead = fatal();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export async function startDemo({ readyTimeoutMs = 240_000 } = {}): Promise<Demo> {
  const bin = scfBinary();
  if (!existsSync(bin)) {
    throw new Error(`scf binary not found at ${bin}: build it (cargo build --bin scf) or set SCF_BIN`);
  }
  if (!existsSync(join(UI_DIR, 'dist', 'index.html'))) {
    throw new Error('ui/dist is missing: run `npm run build` first (npm run e2e builds nothing itself)');
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'scf-e2e-'));
  let output = '';
  const logFile = `${dataDir}.log`;
  const file = createWriteStream(logFile);
  file.on('error', () => {});
  const child: ChildProcess = spawn(bin, ['demo', '--port', String(port), '--data', dataDir], {
    cwd: REPO_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-64_000);
    if (!file.writableEnded) file.write(b);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killed = await Promise.race([
        new Promise<boolean>((r) => child.once('exit', () => r(true))),
        new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
      ]);
      if (!killed) child.kill('SIGKILL');
    }
    // Let the test runner exit: nothing may keep reading the demo's pipes.
    child.stdout?.destroy();
    child.stderr?.destroy();
    await new Promise<void>((r) => file.end(r));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await until(
      `${baseUrl}/healthz`,
      readyTimeoutMs,
      async () => {
        const r = await fetch(`${baseUrl}/healthz`);
      if (!r.ok) return false;
      // Healthy and the read model has caught up with the chain (the story is seeded).
      const h = (await r.json()) as { chain_height?: number | null; indexed_height?: number | null };
        return h.chain_height != null && h.indexed_height != null && h.indexed_height >= h.chain_height;
      },
      { fatal: () => (exited ? `scf demo ${exited}` : null) },
    );
  } catch (e) {
    await stop();
    const kept = keepDemoLog(logFile);
    rmSync(logFile, { force: true });
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- scf demo output (all of it: ${kept ?? logFile}) ---\n${output}`);
  }
  return { baseUrl, port, dataDir, log: () => output, logFile, stop };
}

/** Copy the demo's log into `e2e/failures/` (a failed run keeps it); returns the copy's path. */
export function keepDemoLog(logFile: string): string | null {
  if (!existsSync(logFile)) return null;
  mkdirSync(FAILURES, { recursive: true });
  const to = join(FAILURES, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  copyFileSync(logFile, to);
  return to;
}
