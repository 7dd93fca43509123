// The fleet overview (/fleet): every cluster Paydeck watches, side by side.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { servedAt } from '../paydeck';
import { scale } from './cluster';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** A Paydeck of its own watching a fleet from a file of clusters: the suite's simulated
 * cluster under two names, and a third whose API server is not there. */
async function startFleet(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'paydeck-fleet-'));
  const sim = readFileSync(process.env.PAYDECK_SIM_KUBECONFIG!, 'utf8');
  writeFileSync(join(dir, 'sim.kubeconfig'), sim);
  // Nothing listens on the discard port: this cluster never answers.
  writeFileSync(join(dir, 'down.kubeconfig'), sim.replace(/server: \S+/, 'server: https://127.0.0.1:9'));
  writeFileSync(
    join(dir, 'clusters.yaml'),
    [
      'clusters:',
      '  - {name: eu-prod, displayName: Payments EU, kubeconfig: sim.kubeconfig}',
      '  - {name: us-prod, displayName: Payments US, kubeconfig: sim.kubeconfig}',
      '  - {name: pci, displayName: PCI zone, kubeconfig: down.kubeconfig}',
      '',
    ].join('\n'),
  );
  const bin = process.env.PAYDECK_BIN ?? `${repo}target/release/paydeck`;
  const args = ['--listen', '127.0.0.1:0', '--clusters-file', join(dir, 'clusters.yaml'), '--db', join(dir, 'p.db')];
  const child: ChildProcess = spawn(bin, args, {
    cwd: repo,
    // The down cluster's failed connections are expected: not worth a line each here.
    env: { ...process.env, PAYDECK_LOG: 'error,kube_client=off' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await servedAt(child, bin, 60_000);
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

test('one cluster: the fleet is that cluster, answering', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet' }).click();
  await expect(page).toHaveURL(/\/fleet$/);
  const rows = page.getByTestId('fleet').locator('tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute('data-state', 'answering');
  await expect(rows.first().getByRole('link')).toHaveAttribute('href', '/');
});

test('three clusters, one of them down: each side by side, the down one unreachable and why', async ({ page }) => {
  const fleet = await startFleet();
  try {
    await page.goto(`${fleet.url}/fleet`);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
    const table = page.getByTestId('fleet');
    // The live feed refreshes the page as the clusters sync and the third fails.
    await expect(table.locator('tr[data-cluster="pci"]')).toHaveAttribute('data-state', 'unreachable', { timeout: 30_000 });
    await expect(table.locator('tbody tr')).toHaveCount(3);
    for (const name of ['eu-prod', 'us-prod']) {
      await expect(table.locator(`tr[data-cluster="${name}"]`)).toHaveAttribute('data-state', 'answering');
    }
    const down = table.locator('tr[data-cluster="pci"]');
    await expect(down).toContainText('PCI zone');
    await expect(down).toContainText('Unreachable');
    await expect(down).toContainText('since');
    await expect(table.locator('tr[data-cluster="eu-prod"]')).toContainText('Payments EU');
    // Findings from both answering clusters, each tagged with its cluster.
    const attention = page.getByTestId('fleet-attention');
    await expect(attention.locator('li[data-cluster="eu-prod"]').first()).toBeVisible();
    await expect(attention.locator('li[data-cluster="us-prod"]').first()).toBeVisible();
  } finally {
    await fleet.stop();
  }
});

test('the cluster picker: switching keeps the page and its URL state, links stay on the cluster, a service page on the second cluster', async ({ page }) => {
  const fleet = await startFleet();
  try {
    await page.goto(`${fleet.url}/services?q=ledger&sort=cpu&order=desc`);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
    const picker = page.getByTestId('cluster-picker');
    await expect(picker).toHaveValue('eu-prod');
    await picker.selectOption('us-prod');
    await expect(page).toHaveURL(/\/services\?q=ledger&sort=cpu&order=desc&cluster=us-prod$/);
    await expect(page.getByLabel('Search')).toHaveValue('ledger');
    await expect(page.getByTestId('live-status')).toHaveText('Live', { timeout: 15_000 });
    // The navigation and the rows link on the chosen cluster.
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link', { name: 'Advisor' })).toHaveAttribute('href', '/advisor?cluster=us-prod');
    const ledger = page.locator('tr[data-workload="payments-core/ledger"]').getByRole('link', { name: 'ledger' });
    await ledger.click();
    await expect(page).toHaveURL(/\/services\/payments-core\/ledger\?cluster=us-prod$/);
    await expect(page.getByRole('heading', { level: 1 })).toContainText('ledger');
    await expect(page.getByTestId('cluster-picker')).toHaveValue('us-prod');
    // Back to the primary: the parameter goes, the page stays.
    await page.getByTestId('cluster-picker').selectOption('eu-prod');
    await expect(page).toHaveURL(/\/services\/payments-core\/ledger$/);
    // An unwatched cluster in the URL says so instead of showing another cluster's figures.
    await page.goto(`${fleet.url}/services?cluster=nowhere`);
    await expect(page.getByText('does not watch a cluster named')).toBeVisible();
  } finally {
    await fleet.stop();
  }
});

test('the whole fleet at once: services and advisor list every cluster with a cluster column', async ({ page }) => {
  const fleet = await startFleet();
  try {
    await page.goto(`${fleet.url}/services?q=ledger`);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
    await page.getByTestId('cluster-picker').selectOption('*');
    await expect(page).toHaveURL(/\/services\?q=ledger&cluster=\*$/);
    const table = page.getByTestId('services-table');
    await expect(table.getByRole('columnheader', { name: 'Cluster' })).toBeVisible();
    // The same Deployment on both answering clusters, each row naming its cluster and linking there.
    await expect(table.getByTestId('row-cluster')).toHaveText(['eu-prod', 'us-prod']);
    await expect(table.locator('tbody tr').nth(1).getByRole('link', { name: 'ledger' }))
      .toHaveAttribute('href', '/services/payments-core/ledger?cluster=us-prod');
    // Pages of one cluster leave the whole fleet behind.
    await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' })).toHaveAttribute('href', '/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Advisor' }).click();
    await expect(page).toHaveURL(/\/advisor\?cluster=\*$/);
    const clusters = page.getByTestId('findings-table').getByTestId('finding-cluster');
    await expect(clusters.filter({ hasText: 'eu-prod' }).first()).toBeVisible();
    await expect(clusters.filter({ hasText: 'us-prod' }).first()).toBeVisible();
    await expect(page.getByTestId('sizing')).toContainText('per cluster');
  } finally {
    await fleet.stop();
  }
});

test('with one cluster down, a change on another reaches its open service page within a second', async ({ page }) => {
  const fleet = await startFleet();
  try {
    await page.goto(`${fleet.url}/services/payments-core/fx-rates?cluster=us-prod`);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
    await expect(page.getByTestId('live-status')).toHaveText('Live', { timeout: 15_000 });
    await expect(page.getByTestId('service-replicas')).toHaveText(/ \/ 1$/);
    const asked = Date.now();
    await scale('payments-core', 'fx-rates', 3);
    // The goal: under a second from the change to the screen, the pci cluster unreachable.
    await expect(page.getByTestId('service-replicas')).toHaveText(/ \/ 3$/, { timeout: 1_000 });
    console.log(`FLEET | change to screen on us-prod with pci down: ${Date.now() - asked} ms (goal < 1 s)`);
  } finally {
    await scale('payments-core', 'fx-rates', 1);
    await fleet.stop();
  }
});
