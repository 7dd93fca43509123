import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { kube } from './cluster';

const SERVICE = '/services/payments-core/card-tokeniser';

/** Acts as a demo user of the simulated cluster (what the header's switcher sets). */
async function actAs(context: BrowserContext, user: string) {
  await context.addCookies([{ name: 'paydeck_demo_user', value: user, url: process.env.PAYDECK_URL! }]);
}

/** The HPA as the cluster has it, read with the admin kubeconfig. */
async function hpa() {
  const res = await kube('GET', '/apis/autoscaling/v2/namespaces/payments-core/horizontalpodautoscalers/card-tokeniser');
  expect(res.status).toBe(200);
  return res.body;
}

/** The scale events and edits marked on the replicas chart. */
async function chartMarks(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const instance = (window as any).echarts?.getInstanceByDom(document.getElementById('replicas-chart'));
    const series = instance?.getOption().series ?? [];
    return series.flatMap((s: any) => (s.markLine?.data ?? []).map((d: any) => d.name as string));
  });
}

test('an operator previews and applies a new HPA maximum, with a reason, and sees it audited', async ({ page, context }) => {
  await actAs(context, 'operator');
  const before = await hpa();
  const max = before.spec.maxReplicas + 1;

  await page.goto(SERVICE);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('act-as')).toHaveValue('operator');
  const panel = page.getByTestId('edit-panel');
  await expect(panel).toBeVisible();
  await panel.getByLabel('Maximum replicas').fill(String(max));
  await panel.getByLabel('Reason (change ticket)').fill('CHG-101 card tokenisation peak');
  await panel.getByRole('button', { name: 'Preview change' }).click();

  const preview = page.getByTestId('preview');
  await expect(preview).toContainText('nothing changed yet');
  await expect(preview.getByTestId('diff')).toContainText('maxReplicas');
  await expect(preview.getByTestId('diff')).toContainText(String(max));
  expect((await hpa()).spec.maxReplicas, 'the preview changed nothing').toBe(before.spec.maxReplicas);

  await preview.getByRole('button', { name: 'Apply change' }).click();
  const result = page.getByTestId('edit-result');
  await expect(result).toContainText('Applied');
  await expect(result).toContainText(/Audit entry #\d+/);
  expect((await hpa()).spec.maxReplicas).toBe(max);

  // The edit is marked on the replicas chart, naming who and why.
  await expect.poll(() => chartMarks(page), { timeout: 30_000 }).toContainEqual(
    expect.stringContaining('by operator: CHG-101'),
  );

  // And it is in the audit log.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  const row = page.getByTestId('audit-table').locator('tbody tr').filter({ hasText: 'CHG-101' }).filter({ hasText: 'applied' });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('operator');
  await expect(row).toContainText(`maxReplicas ${before.spec.maxReplicas} → ${max}`);
});

test('a viewer sees no edit controls', async ({ page, context }) => {
  await actAs(context, 'viewer');
  await page.goto(SERVICE);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('edit-locked')).toContainText('does not let viewer');
  await expect(page.getByTestId('edit-panel')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Preview change' })).toHaveCount(0);
});

test('an invalid value shows the field error and the cluster is unchanged', async ({ page, context }) => {
  await actAs(context, 'operator');
  const before = await hpa();
  await page.goto(SERVICE);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  const panel = page.getByTestId('edit-panel');
  const max = panel.getByLabel('Maximum replicas');
  await max.fill('12.5');
  await panel.getByLabel('Reason (change ticket)').fill('CHG-102');
  await panel.getByRole('button', { name: 'Preview change' }).click();

  await expect(max).toHaveAttribute('aria-invalid', 'true');
  await expect(panel.getByRole('alert').filter({ hasText: 'whole number' })).toBeVisible();
  await expect(page.getByTestId('preview')).toHaveCount(0);
  // The spec (an HPA keeps no generation, as on a real API server; its controller writes the
  // status every 15 s regardless).
  const after = await hpa();
  expect(after.metadata.generation, 'no generation is kept for HPAs').toBeUndefined();
  expect(after.spec, 'nothing reached the cluster').toEqual(before.spec);

  // The mark goes away as soon as the value is right.
  await max.fill(String(before.spec.maxReplicas));
  await expect(max).not.toHaveAttribute('aria-invalid', 'true');

  // The refused attempt is audited too.
  const audit = await (await page.request.get('/api/v1/audit?name=card-tokeniser&outcome=invalid')).json();
  expect(audit.some((e: any) => e.reason === 'CHG-102' && e.user === 'operator')).toBe(true);
});
