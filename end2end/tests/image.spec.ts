import { expect, test } from '@playwright/test';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** The runtime stage of k8s/Dockerfile: what it copies where, its workdir, env and entrypoint. */
function runtimeStage() {
  const text = readFileSync(join(repo, 'k8s/Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m);
  const last = stages[stages.length - 1];
  const copies = [...last.matchAll(/^COPY --from=build (?:--chown=\S+ )?(\S+) (\S+)$/gm)].map((m) => ({
    // The build stage works in /src, a copy of the repository.
    from: m[1].replace(/^\/src\//, ''),
    to: m[2],
  }));
  const env = Object.fromEntries([...last.matchAll(/^ENV (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
  const workdir = last.match(/^WORKDIR (\S+)$/m)![1];
  const entrypoint = JSON.parse(last.match(/^ENTRYPOINT (\[.*\])$/m)![1]) as string[];
  return { copies, env, workdir, entrypoint };
}

test('the release binary serves the UI and the API from the image layout', async ({ page }) => {
  const stage = runtimeStage();
  expect(stage.copies.map((c) => c.to)).toEqual(['/app/paydeck', '/app/site', '/var/lib/paydeck']);

  // The image's filesystem, under a temporary root.
  const root = mkdtempSync(join(tmpdir(), 'paydeck-image-'));
  const inRoot = (path: string) => join(root, path);
  for (const { from, to } of stage.copies) {
    if (from.startsWith('/out/')) {
      mkdirSync(inRoot(to), { recursive: true }); // an empty, writable data folder
      continue;
    }
    expect(existsSync(join(repo, from)), `${from} is built`).toBe(true);
    mkdirSync(dirname(inRoot(to)), { recursive: true });
    cpSync(join(repo, from), inRoot(to), { recursive: true });
  }
  // The image's environment, its paths moved under the root; a free port instead of 8080.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [key, value] of Object.entries(stage.env)) env[key] = value.startsWith('/') ? inRoot(value) : value;
  env.PAYDECK_LISTEN = '127.0.0.1:0';
  env.PAYDECK_LOG = 'warn';

  const child = spawn(inRoot(stage.entrypoint[0]), ['--cluster', 'sim', '--sim-kubeconfig', join(root, 'sim.kubeconfig')], {
    cwd: inRoot(stage.workdir),
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c;
        const m = out.match(/serving on (http:\/\/\S+)/);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 30_000 }).toBe(200);

    const overview = await (await fetch(`${url}/api/v1/overview`)).json();
    expect(overview.totals.workloads).toBe(9);
    expect((await fetch(`${url}/pkg/paydeck.wasm`)).status).toBe(200);
    expect(existsSync(inRoot(stage.env.PAYDECK_DB)), 'history is written where PAYDECK_DB points').toBe(true);

    await page.goto(`${url}/services`);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
    await expect(page.locator('[data-testid="services-table"] tbody tr')).toHaveCount(9);
  } finally {
    child.kill('SIGTERM');
  }
});
