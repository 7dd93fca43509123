import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));

export interface Paydeck {
  url: string;
  /** The simulated cluster's admin kubeconfig. */
  kubeconfig: string;
  /** Paydeck's clock minus this machine's, in ms: it lives in the simulated time. */
  clockOffsetMs: number;
  stop(): Promise<void>;
}

/** When the simulated clock starts: `PAYDECK_SIM_START`, else the instant every suite pins
 * (`sim/test-start`). The simulated traffic follows the time of day, so a suite started at
 * "now" would see whatever the hour brings. */
export function simStart(): string {
  return (process.env.PAYDECK_SIM_START ?? readFileSync(`${repo}sim/test-start`, 'utf8')).trim();
}

/** Starts the release binary on the simulated cluster (`listen` defaults to a free port),
 * waits until /readyz answers 200, and resolves with the address it printed. */
export async function startPaydeck(
  listen = '127.0.0.1:0',
  dir = mkdtempSync(join(tmpdir(), 'paydeck-e2e-')),
  // A simulated past recorded on the first start (`--sim-history`); '' for none.
  history = process.env.PAYDECK_SIM_HISTORY ?? '14d',
  // When the simulated clock starts, and how much faster than the wall clock it runs (a test
  // about time waits minutes of simulated time in seconds).
  clock: { start?: string; speed?: number } = {},
  // More of the server's environment (e.g. PAYDECK_NOTIFICATIONS_FILE).
  extraEnv: Record<string, string> = {},
): Promise<Paydeck> {
  const bin = process.env.PAYDECK_BIN ?? `${repo}target/release/paydeck`;
  const kubeconfig = join(dir, 'sim.kubeconfig');
  // Samples every 2 s so the charts have points quickly.
  const start = clock.start ?? simStart();
  const startMs = Date.parse(start);
  if (!start.endsWith('Z') || Number.isNaN(startMs)) {
    throw new Error(`PAYDECK_SIM_START must be a UTC time like 2026-11-26T09:00:00Z, got ${start}`);
  }
  const args = ['--listen', listen, '--cluster', 'sim', '--sim-start', start, '--sim-kubeconfig', kubeconfig,
    '--db', join(dir, 'history.db'), '--sample-interval', '2',
    // Two weeks of simulated past, recorded on this first start, as `make run` does: history,
    // the what-if, the advisor and the planner have something to show.
    ...(history ? ['--sim-history', history] : []),
    ...(clock.speed ? ['--sim-speed', String(clock.speed)] : [])];
  // Paydeck sets its clock to the start as it starts the simulated cluster, right after this.
  const clockOffsetMs = startMs - Date.now();
  const child: ChildProcess = spawn(bin, args, {
    cwd: repo,
    env: { ...process.env, PAYDECK_LOG: process.env.PAYDECK_LOG ?? 'error', ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });

  // Recording a simulated day first takes a while on two cores.
  const url = await servedAt(child, bin, 240_000);

  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`${url}/readyz did not turn ready within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    kubeconfig,
    clockOffsetMs,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The address a Paydeck process prints once it serves (its only source of truth), waiting at
 * most `withinMs`. */
export function servedAt(child: ChildProcess, bin: string, withinMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${bin} did not report its address within ${withinMs / 1000} s`)),
      withinMs,
    );
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = out.match(/serving on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('error', (e) => reject(new Error(`cannot start ${bin}: ${e.message}`)));
    child.on('exit', (code) => reject(new Error(`${bin} exited with ${code} before serving`)));
  });
}
