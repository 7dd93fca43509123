import { expect, test, type Page } from '@playwright/test';

/** Errors the page logs, CSP violations included. */
function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

/** How many pixels of the chart's canvas ECharts has painted (non-transparent). */
async function paintedPixels(page: Page, chartId: string): Promise<number> {
  return page.evaluate((id) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`#${id} canvas`);
    if (!canvas) return 0;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
  }, chartId);
}

/** The ECharts instance on the element: its id and the data of its first series. */
async function chartState(page: Page, chartId: string) {
  return page.evaluate((id) => {
    const echarts = (window as any).echarts;
    const instance = echarts?.getInstanceByDom(document.getElementById(id));
    if (!instance) return null;
    return { id: instance.id as string, data: instance.getOption().series[0].data as number[][] };
  }, chartId);
}

test('the overview is rendered on the server with the shell and real figures', async ({ request }) => {
  const res = await request.get('/');
  expect(res.status()).toBe(200);
  const html = await res.text();
  expect(html).toContain('Paydeck');
  expect(html).toContain('Platform, last 24 h');
  expect(html).toMatch(/data-testid="platform-rate">[\d,.]+ req\/s</);
  // Everything the page loads comes from Paydeck itself.
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  const csp = res.headers()['content-security-policy'];
  expect(csp).toContain("default-src 'self'");
  const nonce = csp.match(/'nonce-([^']+)'/)![1];
  expect(html).toContain(`nonce="${nonce}"`);
});

test('the page hydrates and ECharts draws the platform charts, then updates them in place', async ({ page }) => {
  const errors = collectConsoleErrors(page);
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();

  await expect.poll(() => chartState(page, 'platform-load')).not.toBeNull();
  await expect.poll(() => paintedPixels(page, 'platform-load')).toBeGreaterThan(2_000);
  await expect.poll(() => paintedPixels(page, 'platform-resources')).toBeGreaterThan(2_000);

  // The last point is the live moment: a refresh brings new data into the same instance.
  const before = (await chartState(page, 'platform-load'))!;
  expect(before.data.length, 'a day of 5-minute buckets from the recorded past, then now').toBeGreaterThan(250);
  await expect
    .poll(async () => JSON.stringify((await chartState(page, 'platform-load'))!.data), { timeout: 30_000 })
    .not.toBe(JSON.stringify(before.data));
  const after = (await chartState(page, 'platform-load'))!;
  expect(after.id).toBe(before.id);
  expect(after.data.some(([, rate]) => rate > 0)).toBe(true);

  expect(errors).toEqual([]);
});

test('navigation moves between pages without reloading', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await page.evaluate(() => ((window as any).__sameDocument = true));

  await page.getByRole('link', { name: 'Services' }).click();
  await expect(page).toHaveURL(/\/services$/);
  await expect(page.getByRole('heading', { name: 'Services', level: 1 })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Services' })).toHaveAttribute('aria-current', 'page');
  await expect(page).toHaveTitle('Services · Paydeck');

  await page.getByRole('link', { name: 'Audit' }).click();
  await expect(page.getByRole('heading', { name: 'Audit', level: 1 })).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

test('an unknown address answers 404 with a page that leads back', async ({ page }) => {
  const res = await page.goto('/no-such-page');
  expect(res!.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await page.getByRole('link', { name: 'Go to the overview' }).click();
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
});

test('static assets are served precompressed, WASM included', async ({ request }) => {
  for (const path of ['/pkg/paydeck.wasm', '/pkg/paydeck.js', '/assets/echarts.min.js']) {
    const res = await request.get(path, { headers: { 'accept-encoding': 'br' } });
    expect(res.status(), path).toBe(200);
    expect(res.headers()['content-encoding'], path).toBe('br');
  }
});
