import { expect, test } from '@playwright/test';

test('the overview shows the simulated cluster as the JSON API reports it', async ({ page, request }) => {
  const api = await (await request.get('/api/v1/overview')).json();
  expect(api.connection.synced).toBe(true);

  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('total-workloads')).toHaveText(String(api.totals.workloads));
  await expect(page.getByText(`${api.totals.nodes_ready} / ${api.totals.nodes}`)).toBeVisible();

  // The deliberate misconfigurations are called out, with their status as text.
  const fx = page.locator('.attention li', { hasText: 'payments-core/fx-rates' });
  await expect(fx).toContainText('Warning');
  await expect(fx).toContainText('without CPU or memory limits');
  await expect(page.getByRole('alert')).toHaveCount(0);
});
