import { expect, test } from '@playwright/test';

test('the overview shows the simulated cluster as the JSON API reports it', async ({ page, request }) => {
  const api = await (await request.get('/api/v1/overview')).json();
  expect(api.connection.synced).toBe(true);

  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('total-workloads')).toHaveText(String(api.totals.workloads));
  await expect(page.getByText(`${api.totals.nodesReady} / ${api.totals.nodes}`)).toBeVisible();

  // The deliberate misconfigurations are called out, with their status as text.
  const fx = page.locator('.attention li', { hasText: 'payments-core/fx-rates' });
  await expect(fx).toContainText('Warning');
  await expect(fx).toContainText('without CPU or memory limits');
  await expect(page.getByRole('alert')).toHaveCount(0);

  // The platform card: the live totals, the top findings beside the charts.
  await expect(page.getByTestId('platform-replicas')).toHaveText(/^\d+ \/ \d+$/);
  const top = page.getByTestId('top-findings');
  await expect(top.locator('li').first().locator('.badge')).toHaveText(/High|Medium/);
  expect(await top.locator('li').count()).toBeLessThanOrEqual(5);
  await expect(page.getByTestId('platform').getByRole('link', { name: /Advisor →/ })).toBeVisible();
});
