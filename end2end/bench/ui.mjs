// The UI benchmark: bytes shipped to the browser, server-side render time of the overview and
// the services page on the demo and large simulated clusters, and time to a usable services
// page with every row of the large cluster in Chromium, and the what-if replay as the edit
// panel runs it in Chromium on recorded history. Run with `make bench-ui` (which builds
// first); prints figures, asserts nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { kubeRequest, scaleDeployment } from '../kube.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const site = join(repo, 'target/site');
const bin = process.env.PAYDECK_BIN ?? join(repo, 'target/release/paydeck');
const RENDERS = Number(process.env.BENCH_RENDERS ?? 40);
const BROWSER_RUNS = Number(process.env.BENCH_BROWSER_RUNS ?? 5);
// How much simulated past the what-if measurement records first: what `make run` records on
// a first run; the time from start to ready is the newcomer's wait (target ≤ 60 s).
const WHATIF_HISTORY = process.env.BENCH_WHATIF_HISTORY ?? '14d';

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const size = (path) => (existsSync(path) ? readFileSync(path).length : NaN);
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = (x) => `${x.toFixed(1)} ms`;

// Brotli budgets (KiB, the unit the figures are printed in) for what every visit downloads: the
// entry WASM (every page hydrates with it; the lazily loaded pages add chunks, printed below).
const BROTLI_TARGETS = { WASM: 350, ECharts: 150 };

function bytesShipped() {
  console.log('Bytes shipped (raw / gzip / brotli)');
  let total = [0, 0, 0];
  for (const [label, file] of [
    ['WASM', 'pkg/paydeck.wasm'],
    ['JS glue', 'pkg/paydeck.js'],
    ['ECharts', 'assets/echarts.min.js'],
    ['CSS', 'pkg/paydeck.css'],
  ]) {
    const path = join(site, file);
    const figures = [size(path), size(`${path}.gz`), size(`${path}.br`)];
    figures.forEach((f, i) => (total[i] += f));
    const target = BROTLI_TARGETS[label];
    const verdict = target === undefined ? '' : `   (target brotli ≤ ${target} KiB: ${figures[2] / 1024 <= target ? 'met' : 'MISSED'})`;
    console.log(`  ${label.padEnd(8)} ${figures.map(kib).join(' / ')}${verdict}`);
  }
  console.log(`  ${'total'.padEnd(8)} ${total.map(kib).join(' / ')}`);
  lazyChunks(size(join(site, 'pkg/paydeck.wasm.br')));
}

/** The pages split into chunks of their own (`--split`): what each adds when first shown. */
function lazyChunks(entryBrotli) {
  const manifestPath = join(site, 'pkg/__wasm_split_manifest.json');
  if (!existsSync(manifestPath)) {
    console.log('  no lazily loaded chunks (built without --split)');
    return;
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const loader = size(join(site, 'pkg/__wasm_split.______________________.js.br'));
  console.log('Lazily loaded pages (brotli: the chunks a page adds on first visit, then the whole WASM for a first load of it)');
  for (const [split, modules] of Object.entries(manifest).sort()) {
    const page = split.replace(/^__/, '').replace(/_route_view_\d+$/, '');
    const added = modules.reduce((sum, m) => sum + size(join(site, `pkg/${m}.wasm.br`)), loader);
    console.log(`  ${page.padEnd(8)} +${kib(added)} in ${modules.length} chunks, ${kib(entryBrotli + added)} with the entry WASM`);
  }
}

/** Starts Paydeck on a simulated cluster of `profile`; resolves with its URL and a stop(). */
async function start(profile, extra = []) {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `paydeck-bench-${profile}-`));
  const child = spawn(
    bin,
    ['--listen', '127.0.0.1:0', '--cluster', 'sim', '--sim-profile', profile,
      '--sim-kubeconfig', join(dir, 'sim.kubeconfig'), '--db', join(dir, 'history.db'), ...extra],
    { cwd: repo, env: { ...process.env, PAYDECK_LOG: 'error' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = out.match(/serving on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`${bin} exited with ${code}`)));
  });
  const deadline = Date.now() + 600_000;
  while (!(await fetch(`${url}/readyz`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error('not ready within 600 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  const readyMs = Date.now() - started;
  // Let the first metrics poll land so pages carry usage figures.
  await new Promise((r) => setTimeout(r, 3000));
  const kubeconfig = join(dir, 'sim.kubeconfig');
  // Stopping also removes the run's database and kubeconfig (tens of MB with recorded history).
  const stop = () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); })
    .then(() => rmSync(dir, { recursive: true, force: true }));
  return { url, readyMs, kubeconfig, stop };
}

/** Full server-side render (every byte received) of `path`, `RENDERS` times in a row. */
async function renderTimes(url, path) {
  const times = [];
  let bytes = 0;
  for (let i = 0; i < RENDERS + 3; i++) {
    const t0 = performance.now();
    const res = await fetch(`${url}${path}`, { headers: { 'accept-encoding': 'identity' } });
    const body = await res.text();
    const t = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    bytes = body.length;
    if (i >= 3) times.push(t); // the first few warm caches up
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), bytes };
}

/** Navigation start to a hydrated page showing `rows` rows, in Chromium. */
async function timeToUsable(browser, url, path, rows) {
  const times = [];
  for (let i = 0; i < BROWSER_RUNS; i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${url}${path}`, { waitUntil: 'commit' });
    await page.waitForFunction(
      (n) => document.documentElement.dataset.hydrated === 'true' &&
        document.querySelectorAll('[data-testid="services-table"] tbody tr').length >= n,
      rows, { timeout: 30_000, polling: 'raf' },
    );
    times.push(await page.evaluate(() => performance.now()));
    await page.close();
  }
  times.sort((a, b) => a - b);
  return { median: quantile(times, 0.5), worst: times[times.length - 1] };
}

/**
 * The what-if replay as the edit panel runs it: both configurations over the recorded demand,
 * timed in the page (the panel's `data-ms`), for each window, rerun by changing the maximum.
 */
async function whatifInBrowser(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.context().addCookies([{ name: 'paydeck_demo_user', value: 'operator', url }]);
  await page.goto(`${url}/services/payments-core/risk-scoring`);
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true');
  const timing = page.getByTestId('whatif-timing');
  const max = page.getByTestId('edit-panel').getByLabel('Maximum replicas');
  for (const label of ['last day', 'last week']) {
    await page.getByRole('group', { name: 'Replay window' }).getByRole('button', { name: label }).click();
    const times = [];
    let steps = 0;
    let previous = '';
    for (let i = 0; i < BROWSER_RUNS + 1; i++) {
      await max.fill(String(20 + i));
      // Wait for the rerun: its timing replaces the previous one.
      await page.waitForFunction(
        ([p]) => {
          const el = document.querySelector('[data-testid="whatif-timing"]');
          return el && `${el.dataset.steps}/${el.dataset.ms}/${el.textContent}` !== p &&
            document.querySelector('[data-testid="proposed-peak-replicas"]') !== null;
        },
        [previous], { timeout: 60_000 },
      );
      await page.waitForTimeout(600); // past the form's debounce, so the figure is this value's
      const [s, m, text] = await timing.evaluate((el) => [el.dataset.steps, el.dataset.ms, el.textContent]);
      previous = `${s}/${m}/${text}`;
      steps = Number(s);
      if (i > 0) times.push(Number(m)); // the first run warms the WASM up
    }
    times.sort((a, b) => a - b);
    console.log(`  ${label}: ${steps} steps, current and proposed HPA: median ${ms(quantile(times, 0.5))}, ` +
      `slowest ${ms(times[times.length - 1])} (target ≤ 50 ms for a week)`);
  }
  await page.close();
}

const CHANGES = Number(process.env.BENCH_CHANGES ?? 50);
const EDITS = Number(process.env.BENCH_EDITS ?? 10);

/**
 * Change to screen: the time from a change sent to the cluster until an open service page shows
 * both the new figure and the change marked on its replicas chart. `CHANGES` changes in the
 * cluster, alternating a scale of fx-rates (as `kubectl scale` would) and a new maximum on
 * api-gateway's HPA, each page open in its own tab; then `EDITS` scale edits applied through
 * Paydeck's API (its per-user edit limit allows 20 a minute). Times are taken in the page,
 * when it first shows both.
 */
async function changeToScreen(browser, paydeck) {
  const open = async (path) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${paydeck.url}${path}`);
    await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true' &&
      document.querySelector('[data-testid="live-status"]')?.textContent === 'Live');
    return page;
  };
  // Resolves with the page's clock when the stat named `stat` ends with `figure` and a mark on
  // the replicas chart ends with `mark`; Infinity if that takes over 10 s.
  const onScreen = (page, stat, figure, mark) => page.waitForFunction(
    ([stat, figure, mark]) => {
      const dd = [...document.querySelectorAll('[data-testid="service-stats"] .stat')]
        .find((s) => s.querySelector('dt')?.textContent === stat)?.querySelector('dd');
      const chart = window.echarts?.getInstanceByDom(document.getElementById('replicas-chart'));
      const marks = (chart?.getOption().series ?? []).flatMap((s) => (s.markLine?.data ?? []).map((d) => d.name));
      return dd?.textContent.endsWith(figure) && marks.some((m) => m.endsWith(mark)) ? Date.now() : false;
    },
    [stat, figure, mark], { timeout: 10_000, polling: 'raf' },
  ).then((h) => h.jsonValue(), () => Infinity);
  const report = (label, times) => {
    times.sort((a, b) => a - b);
    const missed = times.filter((t) => t === Infinity).length;
    console.log(`  ${label} (${times.length}): p50 ${ms(quantile(times, 0.5))}, p99 ${ms(quantile(times, 0.99))}, ` +
      `slowest ${ms(times[times.length - 1])}${missed ? `, ${missed} not on screen within 10 s` : ''} (target p99 ≤ 1000 ms)`);
  };

  const replicasPage = await open('/services/payments-core/fx-rates');
  const hpaPage = await open('/services/payments-edge/api-gateway');
  const hpaPath = '/apis/autoscaling/v2/namespaces/payments-edge/horizontalpodautoscalers/api-gateway';
  // Counts 2..6 and maxima 21..25 in turn, so every change differs from the one before.
  const count = (i) => 2 + (i % 5);
  const scales = [];
  const maxima = [];
  for (let i = 0; i < CHANGES; i++) {
    const sent = Date.now();
    if (i % 2 === 0) {
      await scaleDeployment(paydeck.kubeconfig, 'payments-core', 'fx-rates', count(i / 2));
      scales.push((await onScreen(replicasPage, 'Ready / desired', ` / ${count(i / 2)}`, `→ ${count(i / 2)}`)) - sent);
    } else {
      const max = 19 + count((i - 1) / 2);
      const res = await kubeRequest(paydeck.kubeconfig, 'PATCH', hpaPath, { spec: { maxReplicas: max } },
        'application/merge-patch+json');
      if (res.status !== 200) throw new Error(`patching the HPA answered ${res.status}`);
      maxima.push((await onScreen(hpaPage, 'Autoscaler', `–${max}`, `→ ${max}`)) - sent);
    }
  }
  const throughPaydeck = [];
  const api = `${paydeck.url}/api/v1/workloads/payments-core/fx-rates`;
  const operator = { cookie: 'paydeck_demo_user=operator', 'content-type': 'application/json' };
  for (let i = 0; i < EDITS; i++) {
    const replicas = count(i + 1);
    const { generation } = await (await fetch(api)).json();
    const sent = Date.now();
    const res = await fetch(`${api}/scaling`, {
      method: 'POST', headers: operator,
      body: JSON.stringify({ replicas, reason: 'change-to-screen benchmark', generation, dryRun: false }),
    });
    if (!res.ok) throw new Error(`the edit answered ${res.status}: ${await res.text()}`);
    throughPaydeck.push((await onScreen(replicasPage, 'Ready / desired', ` / ${replicas}`, `→ ${replicas}`)) - sent);
  }
  console.log('  Change to screen in Chromium: the figure and the mark on the replicas chart of an open service page');
  report('changes in the cluster', [...scales, ...maxima]);
  report('  of which scales', scales);
  report('  of which HPA maxima', maxima);
  report('scale edits applied through Paydeck', throughPaydeck);
  await replicasPage.close();
  await hpaPage.close();
}

bytesShipped();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  for (const profile of ['demo', 'large']) {
    const paydeck = await start(profile);
    try {
      const page = await (await fetch(`${paydeck.url}/api/v1/workloads?limit=1`)).json();
      console.log(`\nProfile ${profile}: ${page.total} Deployments`);
      console.log(`  Server-side render, ${RENDERS} requests each (p50 / p99, HTML size)`);
      const all = profile === 'large' ? [['/services?per=2000', 'services, all rows']] : [];
      for (const [path, label] of [['/', 'overview'], ['/services', 'services, 100 rows'], ...all]) {
        const r = await renderTimes(paydeck.url, path);
        console.log(`    ${label.padEnd(20)} ${ms(r.p50)} / ${ms(r.p99)}   ${kib(r.bytes)}`);
      }
      if (profile === 'demo') await changeToScreen(browser, paydeck);
      if (profile === 'large') {
        const t = await timeToUsable(browser, paydeck.url, '/services?per=2000', Math.min(2000, page.total));
        console.log(`  Time to a usable services page with ${Math.min(2000, page.total)} rows in Chromium ` +
          `(navigation to hydrated, ${BROWSER_RUNS} runs): median ${ms(t.median)}, worst ${ms(t.worst)} (target ≤ 1500 ms)`);
        const d = await timeToUsable(browser, paydeck.url, '/services', 100);
        console.log(`  … and the default page of 100 rows: median ${ms(d.median)}, worst ${ms(d.worst)}`);
      }
    } finally {
      await paydeck.stop();
    }
  }
  console.log(`\nWhat-if replay in Chromium (demo, ${WHATIF_HISTORY} of simulated history recorded first)`);
  const paydeck = await start('demo', ['--sim-history', WHATIF_HISTORY]);
  console.log(`  Start to ready, ${WHATIF_HISTORY} of history recorded on an empty database: ` +
    `${(paydeck.readyMs / 1000).toFixed(1)} s (target ≤ 60 s for 14d)`);
  try {
    await whatifInBrowser(browser, paydeck.url);
  } finally {
    await paydeck.stop();
  }
} finally {
  await browser.close();
}
