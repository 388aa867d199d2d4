/**
 * Start `scf demo` on a free port with a fresh data directory and wait until it is healthy (the same
 * harness as ui/e2e, without the web UI). The binary is not built here: `SCF_BIN`, else
 * `$CARGO_TARGET_DIR/debug/scf` (CARGO_TARGET_DIR defaults to `$HOME/.cache/scf-target`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SDK_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = resolve(SDK_DIR, '..', '..');

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
  /** Everything the demo printed, for failure messages. */
  log: () => string;
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
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'scf-e2e-'));
  let output = '';
  // No web UI: the demo serves the API alone (it warns that ui/dist is missing, if it is).
  const child: ChildProcess = spawn(bin, ['demo', '--port', String(port), '--data', dataDir, '--ui', join(dataDir, 'no-ui')], {
    cwd: REPO_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-64_000);
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
      let timer: NodeJS.Timeout | undefined;
      const killed = await Promise.race([
        new Promise<boolean>((r) => child.once('exit', () => r(true))),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), 15_000);
        }),
      ]);
      // A pending timer would keep the test runner alive after the demo exited.
      clearTimeout(timer);
      if (!killed) child.kill('SIGKILL');
    }
    // Let the test runner exit: nothing may keep reading the demo's pipes.
    child.stdout?.destroy();
    child.stderr?.destroy();
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
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- scf demo output ---\n${output}`);
  }
  return { baseUrl, port, dataDir, log: () => output, stop };
}
