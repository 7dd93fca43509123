import { expect, test } from '@playwright/test';
import { kube } from './cluster';

// risk-scoring's HPA maximum is too low for the evening peak: the recorded day (Paydeck on the
// simulated cluster records a day of history on its first start) has overloaded minutes.
const SERVICE = '/services/payments-core/risk-scoring';
const HPA = '/apis/autoscaling/v2/namespaces/payments-core/horizontalpodautoscalers/risk-scoring';

/** The proposed replicas drawn in the what-if chart. */
async function proposedLine(page: import('@playwright/test').Page): Promise<number[]> {
  return page.evaluate(() => {
    const instance = (window as any).echarts?.getInstanceByDom(document.getElementById('whatif-chart'));
    const series = instance?.getOption().series ?? [];
    const proposed = series.find((s: any) => s.name === 'Proposed HPA');
    return (proposed?.data ?? []).map((p: any) => p[1]).filter((v: any) => typeof v === 'number');
  });
}

function minutes(text: string | null): number {
  return Number((text ?? '').replace(/[^0-9.]/g, ''));
}

test('an operator raises a maximum, sees what it would have done, applies, and the audit row carries the backtest', async ({ page, context }) => {
  await context.addCookies([{ name: 'paydeck_demo_user', value: 'operator', url: process.env.PAYDECK_URL! }]);
  const before = (await kube('GET', HPA)).body;
  const max = before.spec.maxReplicas;

  await page.goto(SERVICE);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  const whatif = page.getByTestId('whatif');
  await expect(whatif.getByTestId('whatif-figures')).toBeVisible({ timeout: 30_000 });
  const overloaded = whatif.getByTestId('proposed-overloaded');
  const overloadedBefore = minutes(await overloaded.textContent());
  expect(overloadedBefore, 'the current maximum leaves overloaded minutes').toBeGreaterThan(0);
  await expect(whatif.getByTestId('whatif-fidelity')).toContainText('matches the count the HPA controller set');
  // The figures say what they cover: the recorded part of the window.
  await expect(whatif.getByTestId('whatif-covered')).toContainText(/Every figure counts only what was recorded: [\d.]+ (min|h|d) of the last day/);
  const peakBefore = Math.max(...(await proposedLine(page)));
  expect(peakBefore).toBeLessThanOrEqual(max);

  // Raise the maximum: the replay reruns in the browser, before anything is previewed.
  const panel = page.getByTestId('edit-panel');
  await panel.getByLabel('Maximum replicas').fill(String(max * 3));
  await expect.poll(async () => minutes(await overloaded.textContent()), { timeout: 10_000 }).toBeLessThan(overloadedBefore);
  await expect(overloaded).toHaveClass(/better/);
  await expect.poll(async () => Math.max(...(await proposedLine(page))), { timeout: 10_000 }).toBeGreaterThan(max);
  const timing = whatif.getByTestId('whatif-timing');
  await expect(timing).toContainText('Replayed');
  expect((await kube('GET', HPA)).body.spec.maxReplicas, 'the what-if changed nothing').toBe(max);

  await panel.getByLabel('Reason (change ticket)').fill('CHG-205 evening peak headroom');
  await panel.getByRole('button', { name: 'Preview change' }).click();
  await page.getByTestId('preview').getByRole('button', { name: 'Apply change' }).click();
  await expect(page.getByTestId('edit-result')).toContainText('Applied');
  await expect(page.getByTestId('edit-result')).toContainText('backtested on ');
  expect((await kube('GET', HPA)).body.spec.maxReplicas).toBe(max * 3);

  const audit = await (await page.request.get('/api/v1/audit?name=risk-scoring&outcome=applied&limit=1')).json();
  expect(audit[0].reason).toBe('CHG-205 evening peak headroom');
  expect(audit[0].detail).toMatch(/backtested on [\d.]+ [dh] recorded of the last 7 d: overloaded \d+ → \d+ min/);
});
