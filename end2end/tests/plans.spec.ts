import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeRequest } from '../kube.mjs';
import { startPaydeck, type Paydeck } from '../paydeck';

// A Paydeck of its own: four recorded days (the daily evening peak and flash sale), its
// simulated clock starting at 17:20 UTC and running 20 times faster than the wall clock, so
// the evening window a plan proposes (from 17:55) opens within two minutes.
let paydeck: Paydeck;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  paydeck = await startPaydeck('127.0.0.1:0', mkdtempSync(join(tmpdir(), 'paydeck-plans-')), '4d', {
    start: '2026-11-26T17:20:00Z',
    speed: 20,
  });
});

test.afterAll(async () => {
  await paydeck?.stop();
});

const SERVICE = '/services/payments-core/ledger';

async function actAs(context: BrowserContext, user: string) {
  await context.clearCookies();
  await context.addCookies([{ name: 'paydeck_demo_user', value: user, url: paydeck.url }]);
}

/** The ledger HPA as this Paydeck's simulated cluster has it. */
async function hpa() {
  const res = await kubeRequest(
    paydeck.kubeconfig,
    'GET',
    '/apis/autoscaling/v2/namespaces/payments-core/horizontalpodautoscalers/ledger',
  );
  expect(res.status).toBe(200);
  return res.body;
}

/** The plan windows banded on the replicas chart, by name. */
async function chartBands(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const instance = (window as any).echarts?.getInstanceByDom(document.getElementById('replicas-chart'));
    const series = instance?.getOption().series ?? [];
    return series.flatMap((s: any) => (s.markArea?.data ?? []).map((d: any) => d[0].name as string));
  });
}

test('a plan proposed from history, backtested, approved by another person, shown ahead on the chart, carried out and audited', async ({ page, context }) => {
  test.setTimeout(240_000);
  const before = await hpa();

  // Proposed from the recorded evenings, drafted by the operator.
  await actAs(context, 'operator');
  await page.goto(`${paydeck.url}${SERVICE}`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  const panel = page.getByTestId('plans-panel');
  await expect(panel.getByTestId('no-plans')).toBeVisible();
  await panel.getByLabel('Time zone (IANA)').fill('UTC');
  await panel.getByRole('button', { name: 'Propose from history' }).click();
  const proposal = panel.getByTestId('plan-proposal');
  await expect(proposal).toContainText('Recorded peaks');
  await expect(proposal).toContainText(/min ≥ \d+, opening \d+ min early/);
  const min = Number(await panel.getByLabel('Minimum at least').inputValue());
  expect(min, 'the proposal raises the minimum').toBeGreaterThan(before.spec.minReplicas);
  expect(await panel.getByLabel('From (HH:MM)').inputValue()).toBe('17:55');
  await panel.getByLabel('Reason (change ticket)').fill('CHG-301 evening peak');
  await panel.getByRole('button', { name: 'Draft plan' }).click();
  await expect(panel.getByTestId('plan-drafted')).toContainText('Drafted plan #1');
  await expect(panel.getByTestId('plans')).toContainText('Awaiting approval');

  // Its page: the backtest over the recorded weeks; its author cannot approve it.
  await panel.getByRole('link', { name: 'open plan #1' }).click();
  await expect(page).toHaveURL(/\/plans\/1$/);
  await expect(page.getByTestId('plan-state')).toHaveText('Awaiting approval');
  const backtest = page.getByTestId('plan-backtest');
  await expect(backtest.locator('tbody tr')).not.toHaveCount(0);
  await expect(backtest).toContainText('Total');
  await page.getByLabel('Reason (change ticket)').fill('CHG-301 approve my own');
  await page.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByTestId('plan-move-result')).toContainText('another person must approve it');
  await expect(page.getByTestId('plan-state')).toHaveText('Awaiting approval');

  // Another person approves it.
  await actAs(context, 'admin');
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel('Reason (change ticket)').fill('CHG-301 reviewed');
  await page.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByTestId('plan-state')).toHaveText('Active');
  await expect(page.getByTestId('plan-approver')).toHaveText('admin');
  await expect(page.getByTestId('plan-next')).toContainText('17:55');

  // The window ahead of now is a band on the service's replicas chart.
  await page.goto(`${paydeck.url}${SERVICE}?range=1h`);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect.poll(() => chartBands(page), { timeout: 30_000 }).toContainEqual(
    expect.stringContaining(`Upcoming plan window: min ≥ ${min}`),
  );

  // The window opens (the simulated clock runs 20× faster): the minimum is raised, as admin.
  await expect.poll(async () => (await hpa()).spec.minReplicas, { timeout: 120_000, intervals: [1000] }).toBe(min);
  // The step is saved once its apply is audited with its backtest, a while after the HPA
  // changed (longer on a busy machine): the page is read again until it says so.
  await expect.poll(async () => {
    await page.goto(`${paydeck.url}/plans/1`);
    return (await page.getByTestId('plan-last-step').textContent({ timeout: 1_000 }).catch(() => '')) ?? '';
  }, { timeout: 60_000, intervals: [2_000] }).toContain('window opened 2026-11-26 17:55 UTC');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('plan-holding')).toContainText(`holds ${min}–`);
  const history = page.getByTestId('plan-history');
  await expect(history.locator('tr[data-outcome="applied"]').filter({ hasText: 'admin' }).filter({ hasText: 'window opened' })).toHaveCount(1);
  await expect(history).toContainText('approved plan 1');
  await expect(history.locator('tr[data-outcome="denied"]').filter({ hasText: 'operator' })).toHaveCount(1);

  // And in the audit log, step and decisions alike.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  const rows = page.getByTestId('audit-table').locator('tbody tr');
  const outcome = (word: string) => ({ has: page.locator('td:last-child', { hasText: new RegExp(`^${word}$`) }) });
  const step = rows.filter({ hasText: 'plan 1 (CHG-301 evening peak): window opened' });
  await expect(step.filter(outcome('applied'))).toHaveCount(1);
  await expect(step.filter(outcome('previewed'))).toHaveCount(1);
  await expect(rows.filter({ hasText: 'approved plan 1' }).filter(outcome('applied'))).toHaveCount(1);
});
