import { expect, test, type Page } from '@playwright/test';

/** `namespace/name` of the table's rows, top to bottom. */
function rowKeys(page: Page) {
  return page.locator('[data-testid="services-table"] tbody tr').evaluateAll((rows) =>
    rows.map((r) => r.getAttribute('data-workload')),
  );
}

test('the services page is rendered on the server with every Deployment', async ({ request }) => {
  const api = await (await request.get('/api/v1/workloads')).json();
  const html = await (await request.get('/services?q=recon')).text();
  expect(html).toContain('data-workload="payments-batch/reconciliation"');
  expect(html).not.toContain('data-workload="payments-core/ledger"');
  const all = await (await request.get('/services')).text();
  for (const w of api.items) expect(all).toContain(`data-workload="${w.namespace}/${w.name}"`);
});

test('the services table sorts, filters and keeps its state in the URL', async ({ page, request }) => {
  await page.goto('/services');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  const api = await (await request.get('/api/v1/workloads?sort=name')).json();
  expect(await rowKeys(page)).toEqual(api.items.map((w: any) => `${w.namespace}/${w.name}`));

  // A second click on the sorted column reverses it.
  await page.getByTestId('services-table').getByRole('link', { name: /^Service/ }).click();
  await expect(page).toHaveURL(/[?&]order=desc/);
  await expect(page.getByRole('columnheader', { name: /^Service/ })).toHaveAttribute('aria-sort', 'descending');
  const reversed = await (await request.get('/api/v1/workloads?sort=name&order=desc')).json();
  await expect.poll(() => rowKeys(page)).toEqual(reversed.items.map((w: any) => `${w.namespace}/${w.name}`));

  // Numbers sort the biggest first.
  await page.getByTestId('services-table').getByRole('link', { name: /^CPU used/ }).click();
  await expect(page).toHaveURL(/sort=cpu&order=desc/);
  await expect(page.getByRole('columnheader', { name: /^CPU used/ })).toHaveAttribute('aria-sort', 'descending');

  // Filters narrow the rows and land in the URL.
  await page.getByLabel('Namespace').selectOption('payments-batch');
  await expect(page).toHaveURL(/namespace=payments-batch/);
  await expect.poll(async () => (await rowKeys(page)).sort()).toEqual([
    'payments-batch/reconciliation',
    'payments-batch/settlement-batch',
  ]);
  await page.getByLabel('Search').fill('recon');
  await page.getByLabel('Search').press('Enter');
  await expect(page).toHaveURL(/q=recon/);
  await expect.poll(() => rowKeys(page)).toEqual(['payments-batch/reconciliation']);
  await expect(page.getByTestId('result-count')).toHaveText('1–1 of 1 services');

  // The state survives a reload: the same rows, the same controls.
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByLabel('Search')).toHaveValue('recon');
  await expect(page.getByLabel('Namespace')).toHaveValue('payments-batch');
  expect(await rowKeys(page)).toEqual(['payments-batch/reconciliation']);

  // Nothing matching says so, and offers the way back.
  await page.getByLabel('Search').fill('no-such-service');
  await page.getByLabel('Search').press('Enter');
  await expect(page.getByText('No services match these filters')).toBeVisible();
  await page.getByRole('link', { name: 'Clear the filters' }).click();
  await expect(page).toHaveURL(/\/services$/);
  await expect.poll(async () => (await rowKeys(page)).length).toBe(api.items.length);
});

test('the overview narrows to a namespace and links to the services that need attention', async ({ page, request }) => {
  const api = await (await request.get('/api/v1/overview?namespace=payments-batch')).json();
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel('Namespace').selectOption('payments-batch');
  await expect(page).toHaveURL(/\?namespace=payments-batch/);
  await expect(page.getByTestId('total-workloads')).toHaveText(String(api.totals.workloads));

  await page.getByLabel('Namespace').selectOption('');
  await page.getByRole('link', { name: 'payments-core/fx-rates' }).click();
  await expect(page).toHaveURL(/\/services\/payments-core\/fx-rates$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('fx-rates');
});
