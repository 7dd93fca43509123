import { expect, test } from '@playwright/test';

// The demo platform's deliberate problems (README, "The simulated cluster"), found by the
// advisor on the live state and on the simulated day Paydeck recorded on its first start.

const rows = (page: import('@playwright/test').Page) => page.getByTestId('findings-table').locator('tbody tr');

test('the advisor lists each deliberate problem by its rule, keeps waivers visible and leads to the service', async ({ page, request }) => {
  // The first judgement of recorded history runs right after the cluster syncs.
  await expect.poll(async () => (await (await request.get('/api/v1/findings')).json()).history_judged_at_ms,
    { timeout: 60_000 }).not.toBeNull();

  await page.goto('/advisor');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('advisor-summary')).toContainText('on up to the last 1 d of recording');
  for (const [rule, workload] of [
    ['PD301', 'payments-core/risk-scoring'],
    ['PD206', 'payments-core/notifications'],
    ['PD203', 'payments-core/fx-rates'],
    ['PD106', 'payments-core/fx-rates'],
    ['PD105', 'payments-core/card-tokeniser'],
    ['PD201', 'payments-batch/reconciliation'],
  ]) {
    await expect(rows(page).and(page.locator(`[data-rule="${rule}"][data-workload="${workload}"]`)), `${rule} on ${workload}`).toHaveCount(1);
  }
  // High severity first.
  await expect(rows(page).first().locator('.badge')).toHaveText('High');
  // A waived finding is counted, not listed, until asked for.
  await expect(rows(page).and(page.locator('[data-workload="payments-batch/settlement-batch"]'))).toHaveCount(0);
  await page.getByLabel('Show waived').check();
  await expect(page).toHaveURL(/waived=true/);
  const waived = rows(page).and(page.locator('[data-workload="payments-batch/settlement-batch"]'));
  await expect(waived).toContainText('Waived: batch worker: no traffic to gate; CHG-4102');
  await expect(waived).toHaveClass(/waived/);

  // One rule: the list narrows, the URL says so.
  await page.getByLabel('Rule', { exact: true }).selectOption('PD301');
  await expect(page).toHaveURL(/rule=PD301/);
  await expect(rows(page)).toHaveCount(1);
  const finding = rows(page).first();
  await expect(finding).toContainText(/at its maximum of \d+ with CPU above its \d+ % target/);
  await expect(finding.getByTestId('finding-backtest')).toContainText(/backtested over \d+ [dh]: overloaded \d+ → 0 min/);

  // To the service, whose page explains the rule.
  await finding.getByRole('link', { name: 'risk-scoring' }).click();
  await expect(page).toHaveURL(/\/services\/payments-core\/risk-scoring/);
  const governance = page.getByTestId('governance');
  await expect(governance.locator('[data-rule="PD301"]')).toContainText('HPA saturated at its maximum during peaks');
  await governance.locator('[data-rule="PD301"]').getByText('Why it matters, and the fix').click();
  await expect(governance.locator('[data-rule="PD301"]')).toContainText('Raise maxReplicas');
});

test('the advisor page is rendered on the server and its filters work from the URL', async ({ request }) => {
  const html = await (await request.get('/advisor?namespace=payments-batch&rule=PD201&waived=true')).text();
  expect(html).toContain('data-workload="payments-batch/reconciliation"');
  expect(html).toContain('data-workload="payments-batch/settlement-batch"');
  expect(html).not.toContain('data-workload="payments-core/fx-rates"');
  const api = await request.get('/api/v1/findings?rule=PD999');
  expect(api.status()).toBe(400);
});

test('a recommendation opens the edit form pre-filled, with its replay, and goes through preview, apply and audit', async ({ page, context }) => {
  await context.addCookies([{ name: 'paydeck_demo_user', value: 'operator', url: process.env.PAYDECK_URL! }]);
  const { kube, scale } = await import('./cluster');

  // risk-scoring's saturated HPA: the proposal is a higher maximum, and the what-if replays it.
  await page.goto('/advisor?rule=PD301');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  const hpa = (await kube('GET', '/apis/autoscaling/v2/namespaces/payments-core/horizontalpodautoscalers/risk-scoring')).body;
  await page.getByTestId('open-as-change').first().click();
  await expect(page).toHaveURL(/\/services\/payments-core\/risk-scoring\?propose=PD301&max=\d+/);
  const proposed = Number(new URL(page.url()).searchParams.get('max'));
  expect(proposed).toBeGreaterThan(hpa.spec.maxReplicas);
  const panel = page.getByTestId('edit-panel');
  await expect(panel.getByTestId('proposal-note')).toContainText('PD301');
  await expect(panel.getByLabel('Maximum replicas')).toHaveValue(String(proposed));
  await expect(panel.getByLabel('Reason (change ticket)')).toHaveValue(/^PD301 HPA saturated/);
  await expect(page.getByTestId('whatif').getByTestId('proposed-overloaded')).toHaveClass(/better/, { timeout: 30_000 });
  expect((await kube('GET', '/apis/autoscaling/v2/namespaces/payments-core/horizontalpodautoscalers/risk-scoring')).body.spec.maxReplicas,
    'opening a recommendation changes nothing').toBe(hpa.spec.maxReplicas);

  // fx-rates' single replica: open, complete the reason, preview, apply; audited; in the cluster.
  const DEPLOYMENT = '/apis/apps/v1/namespaces/payments-core/deployments/fx-rates';
  expect((await kube('GET', DEPLOYMENT)).body.spec.replicas).toBe(1);
  await page.goto('/advisor?rule=PD106');
  await page.locator('[data-workload="payments-core/fx-rates"]').getByTestId('open-as-change').click();
  await expect(page).toHaveURL(/propose=PD106&replicas=2/);
  const edit = page.getByTestId('edit-panel');
  await expect(edit.getByLabel('Replicas')).toHaveValue('2');
  const reason = edit.getByLabel('Reason (change ticket)');
  await reason.fill(`${await reason.inputValue()} CHG-311`);
  await edit.getByRole('button', { name: 'Preview change' }).click();
  await expect(page.getByTestId('preview').getByTestId('diff')).toContainText('replicas');
  expect((await kube('GET', DEPLOYMENT)).body.spec.replicas, 'the preview changed nothing').toBe(1);
  await page.getByTestId('preview').getByRole('button', { name: 'Apply change' }).click();
  await expect(page.getByTestId('edit-result')).toContainText('Applied');
  expect((await kube('GET', DEPLOYMENT)).body.spec.replicas).toBe(2);
  const audit = await (await page.request.get('/api/v1/audit?name=fx-rates&outcome=applied&limit=1')).json();
  expect(audit[0].reason).toBe('PD106 One replica, no autoscaler, no PodDisruptionBudget (advisor) CHG-311');
  // Back as it was, for the journeys that expect the demo's single replica.
  await scale('payments-core', 'fx-rates', 1);
});
