// The pages whose code is a WebAssembly chunk of its own (app/src/pages/lazy.rs): the chunk is
// fetched only when the page is shown, and the page works after it arrived, whether the browser
// navigated to it or loaded it first.
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { kube } from './cluster';

/** Every chunk (split-off WebAssembly) the page requests from now on. */
function chunkRequests(page: Page): string[] {
  const chunks: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith('/pkg/') && path.endsWith('.wasm') && path !== '/pkg/paydeck.wasm') chunks.push(path);
  });
  return chunks;
}

/** Errors the page logs, CSP violations included. */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

async function actAs(context: BrowserContext, user: string) {
  await context.addCookies([{ name: 'paydeck_demo_user', value: user, url: process.env.PAYDECK_URL! }]);
}

test('the service page and the audit log are fetched when first shown, and the edit panel works after', async ({ page, context }) => {
  await actAs(context, 'operator');
  const errors = consoleErrors(page);
  const chunks = chunkRequests(page);
  const hpaPath = '/apis/autoscaling/v2/namespaces/payments-core/horizontalpodautoscalers/ledger';
  const before = (await kube('GET', hpaPath)).body;

  await page.goto('/services');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  expect(chunks, 'the services list needs no chunk').toEqual([]);

  // In the browser, without reloading: the service page's chunk arrives, then the page.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByRole('link', { name: 'ledger', exact: true }).click();
  await expect(page).toHaveURL(/\/services\/payments-core\/ledger$/);
  await expect(page.getByRole('heading', { name: 'ledger', level: 1 })).toBeVisible();
  expect(chunks.some((c) => c.includes('service_route_view')), chunks.join(', ')).toBe(true);

  // The edit panel of a page that arrived as a chunk validates and previews.
  const panel = page.getByTestId('edit-panel');
  await panel.getByLabel('Maximum replicas').fill('12.5');
  await panel.getByRole('button', { name: 'Preview change' }).click();
  await expect(panel.getByRole('alert').filter({ hasText: 'whole number' })).toBeVisible();
  await panel.getByLabel('Maximum replicas').fill(String(before.spec.maxReplicas + 2));
  await panel.getByLabel('Reason (change ticket)').fill('CHG-LAZY preview only');
  await panel.getByRole('button', { name: 'Preview change' }).click();
  await expect(page.getByTestId('preview').getByTestId('diff')).toContainText('maxReplicas');
  expect((await kube('GET', hpaPath)).body.spec, 'a preview changes nothing').toEqual(before.spec);

  // The audit log is another chunk; the preview is in it.
  const beforeAudit = chunks.length;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  await expect(page.getByRole('heading', { name: 'Audit', level: 1 })).toBeVisible();
  expect(chunks.slice(beforeAudit).some((c) => c.includes('audit_route_view')), chunks.join(', ')).toBe(true);
  const row = page.getByTestId('audit-table').locator('tbody tr').filter({ hasText: 'CHG-LAZY' });
  await expect(row.first()).toContainText('previewed');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  expect(errors).toEqual([]);
});

test('a page loaded first from its chunk names the chunk for preloading and hydrates', async ({ page }) => {
  const errors = consoleErrors(page);
  const response = await page.goto('/advisor');
  const html = await response!.text();
  expect(html, 'the server asks the browser to fetch the chunk at once').toMatch(
    /<link(?=[^>]*rel="preload")[^>]*href="\/pkg\/split___advisor_route_view_\d+\.wasm"/,
  );
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  // A filter is handled in the browser (the URL changes without a reload) only once hydrated.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByLabel('Severity').selectOption('high');
  await expect(page).toHaveURL(/severity=high/);
  await expect(page.getByTestId('advisor-filters').getByLabel('Severity')).toHaveValue('high');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  expect(errors).toEqual([]);
});
