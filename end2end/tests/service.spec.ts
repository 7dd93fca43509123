import { expect, test, type Page } from '@playwright/test';
import { scale } from './cluster';

const CHARTS = ['load-chart', 'replicas-chart', 'resources-chart'];

/** The chart's ECharts instance id, the points of its first series, and painted pixels. */
async function chart(page: Page, id: string) {
  return page.evaluate((id) => {
    const el = document.getElementById(id);
    const instance = (window as any).echarts?.getInstanceByDom(el);
    if (!instance) return null;
    let painted = 0;
    const canvas = el!.querySelector('canvas')!;
    const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
    const option = instance.getOption();
    const data: [number, number | null][] = option.series[0].data;
    return {
      instance: instance.id as string,
      painted,
      filled: data.filter((d) => d[1] !== null && d[1] !== undefined).length,
      step: data.length > 1 ? data[1][0] - data[0][0] : 0,
      span: option.xAxis[0].max - option.xAxis[0].min,
    };
  }, id);
}

test('a service page draws its three charts from recorded history', async ({ page }) => {
  await page.goto('/services/payments-core/ledger?range=15m');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('ledger');
  for (const id of CHARTS) {
    await expect.poll(async () => (await chart(page, id))?.filled ?? 0, { message: `${id} has data` }).toBeGreaterThan(0);
    expect((await chart(page, id))!.painted, `${id} is painted`).toBeGreaterThan(5_000);
  }
  // The spec that explains the picture is beside it.
  await expect(page.getByRole('heading', { name: 'Specification' })).toBeVisible();
  await expect(page.getByText(/600 s stabilisation/)).toBeVisible();
  await expect(page.getByText('ledger: min available 2')).toBeVisible();
});

test('switching the range changes the data shown', async ({ page }) => {
  await page.goto('/services/payments-core/ledger?range=15m');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect.poll(async () => (await chart(page, 'load-chart'))?.span).toBe(15 * 60_000);
  const before = (await chart(page, 'load-chart'))!;

  await page.getByRole('link', { name: '6 h' }).click();
  await expect(page).toHaveURL(/range=6h/);
  await expect(page.getByRole('link', { name: '6 h' })).toHaveAttribute('aria-current', 'true');
  await expect.poll(async () => (await chart(page, 'load-chart'))?.span).toBe(6 * 3_600_000);
  const after = (await chart(page, 'load-chart'))!;
  expect(after.step, 'coarser buckets over the longer range').toBeGreaterThan(before.step);
  expect(after.instance, 'the chart is updated, not re-created').toBe(before.instance);
});

test('a change in the cluster appears on the open page without a reload', async ({ page }) => {
  await page.goto('/services/payments-core/fx-rates');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('live-status')).toHaveText('Live');
  await expect(page.getByTestId('service-replicas')).toHaveText('1 / 1');
  await expect.poll(async () => (await chart(page, 'replicas-chart'))?.instance).toBeTruthy();
  const instance = (await chart(page, 'replicas-chart'))!.instance;
  await page.evaluate(() => ((window as any).notReloaded = true));

  await scale('payments-core', 'fx-rates', 3);
  try {
    await expect(page.getByTestId('service-replicas')).toHaveText(/ \/ 3$/);
    await expect(page.getByTestId('service-replicas')).toHaveText('3 / 3', { timeout: 30_000 });
    expect(await page.evaluate(() => (window as any).notReloaded)).toBe(true);
    expect((await chart(page, 'replicas-chart'))!.instance).toBe(instance);

    // The services table follows too.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Services' }).click();
    const row = page.locator('tr[data-workload="payments-core/fx-rates"] [data-testid="ready"]');
    await expect(row).toHaveText('3 / 3');
    // Rows are updated in place: the changed row and every other keep their elements.
    const rows = page.locator('[data-testid="services-table"] tbody tr');
    const count = await rows.count();
    await rows.evaluateAll((trs) => trs.forEach((tr) => ((tr as any).kept = true)));
    await scale('payments-core', 'fx-rates', 2);
    await expect(row).toHaveText(/ \/ 2$/);
    expect(await page.evaluate(() => (window as any).notReloaded)).toBe(true);
    expect(await rows.evaluateAll((trs) => trs.filter((tr) => (tr as any).kept).length)).toBe(count);
  } finally {
    await scale('payments-core', 'fx-rates', 1);
  }
});

test('an unknown service is a clear 404', async ({ page }) => {
  const res = await page.goto('/services/payments-core/no-such-service');
  expect(res!.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Service not found');
  await expect(page.getByText(/no Deployment no-such-service in namespace payments-core/)).toBeVisible();
});
