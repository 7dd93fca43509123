import { expect, test, type BrowserContext } from '@playwright/test';
import { kube } from './cluster';

// Objects other tools write: the demo's payment-api HPA is synced by the Argo CD application
// payments-core (the simulator sets a change back after Argo CD's self-heal delay), and
// settlement-batch's HPA is KEDA's.

const SERVICE = '/services/payments-core/payment-api';

async function actAs(context: BrowserContext, user: string) {
  await context.addCookies([{ name: 'paydeck_demo_user', value: user, url: process.env.PAYDECK_URL! }]);
}

async function maxReplicas(): Promise<number> {
  const res = await kube('GET', '/apis/autoscaling/v2/namespaces/payments-core/horizontalpodautoscalers/payment-api');
  expect(res.status).toBe(200);
  return res.body.spec.maxReplicas;
}

test('the services table and the service page name the owner', async ({ page }) => {
  await page.goto('/services?q=payment-api');
  const row = page.locator('tr[data-workload="payments-core/payment-api"]');
  await expect(row.getByTestId('row-owner')).toHaveText('managed by Argo CD');
  await expect(row.getByTestId('row-owner')).toHaveAttribute('title', 'Managed by Argo CD application payments-core');

  await page.goto(SERVICE);
  const owners = page.getByTestId('owners');
  await expect(owners).toContainText('Managed by Argo CD application payments-core');
  await expect(owners).toContainText('ignoreDifferences');
  // No plan is drafted for an HPA something sets back.
  await expect(page.getByTestId('plans-owner')).toContainText('Argo CD application payments-core sets this HPA back');
  await expect(page.getByRole('button', { name: 'Draft plan' })).toBeHidden();
});

test('an Argo CD synced HPA: warned, exported for the repository, confirmed, applied, set back and recorded', async ({ page, context, request }) => {
  await actAs(context, 'operator');
  const before = await maxReplicas();
  await page.goto(SERVICE);
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  const panel = page.getByTestId('edit-panel');
  await panel.getByLabel('Maximum replicas').fill(String(before + 4));
  await panel.getByLabel('Reason (change ticket)').fill('CHG-401 payment API peak');
  await panel.getByRole('button', { name: 'Preview change' }).click();

  const preview = page.getByTestId('preview');
  await expect(preview).toContainText('Argo CD application payments-core syncs this object');
  // The change as the repository would hold it.
  const exported = preview.getByTestId('repository-patch');
  await exported.locator('summary').click();
  await expect(exported.getByTestId('patch-text')).toContainText('# Reason: CHG-401 payment API peak');
  await expect(exported.getByTestId('patch-text')).toContainText(`maxReplicas: ${before + 4}`);
  await expect(exported.getByRole('link', { name: 'Download' })).toHaveAttribute('download', 'payment-api-hpa-scaling.patch.yaml');

  // Apply waits for the confirmation; the box is reached and ticked from the keyboard.
  const apply = preview.getByRole('button', { name: 'Apply change' });
  await expect(apply).toBeDisabled();
  const confirm = preview.getByTestId('confirm-owner').getByRole('checkbox');
  await confirm.focus();
  await page.keyboard.press('Space');
  await expect(confirm).toBeChecked();
  await apply.click();
  const result = page.getByTestId('edit-result');
  await expect(result).toContainText('Applied');
  await expect(result).toContainText('set back unless kept there: confirmed');
  expect(await maxReplicas()).toBe(before + 4);

  // Argo CD sets it back; Paydeck records it, and the audit page shows it.
  await expect.poll(maxReplicas, { timeout: 20_000 }).toBe(before);
  await expect.poll(async () => {
    const rows = await (await request.get('/api/v1/audit?name=payment-api&outcome=reverted')).json();
    return rows.length;
  }, { timeout: 20_000 }).toBeGreaterThan(0);
  await page.goto('/audit?outcome=reverted');
  const row = page.getByTestId('audit-table').locator('tbody tr').filter({ hasText: 'payment-api' }).first();
  await expect(row).toContainText('argocd');
  await expect(row).toContainText('reverted by argocd');
});

test('a KEDA-made HPA cannot be edited here: the panel names the ScaledObject', async ({ page, context }) => {
  await actAs(context, 'admin');
  await page.goto('/services/payments-batch/settlement-batch');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('edit-locked')).toContainText('KEDA ScaledObject settlement-batch makes this HPA');
  await expect(page.getByTestId('owners')).toContainText('Managed by KEDA ScaledObject settlement-batch');
});
