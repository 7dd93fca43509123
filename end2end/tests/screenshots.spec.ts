import { expect, test } from '@playwright/test';

// Every page in light and dark, saved under end2end/screenshots/ and attached to the report:
// what a reviewer looks at before calling a change done.
const PAGES = [
  ['overview', '/', ''],
  ['services', '/services', ''],
  ['service', '/services/payments-core/ledger?range=15m', ''],
  ['service-as-operator', '/services/payments-core/ledger?range=15m', 'operator'],
  ['advisor', '/advisor', ''],
  ['planner', '/planner', ''],
  ['audit', '/audit', ''],
  ['fleet', '/fleet', ''],
  ['plans', '/plans', ''],
];

for (const [name, path, user] of PAGES) {
  test(`screenshot: ${name}`, async ({ page, context }, info) => {
    if (user) await context.addCookies([{ name: 'paydeck_demo_user', value: user, url: process.env.PAYDECK_URL! }]);
    // Hydration mismatches, CSP violations and failed requests all surface here.
    const problems: string[] = [];
    page.on('console', (m) => ['error', 'warning'].includes(m.type()) && problems.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(String(e)));
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(path);
      await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
      await expect(page.getByTestId('live-status')).toHaveText('Live');
      await page.waitForLoadState('networkidle').catch(() => {});
      // Charts animate for 300 ms.
      await page.waitForTimeout(600);
      const file = `screenshots/${name}-${scheme}.png`;
      await page.screenshot({ path: file, fullPage: true });
      await info.attach(`${name}-${scheme}`, { path: file, contentType: 'image/png' });
    }
    expect(problems, 'console errors and warnings').toEqual([]);
  });
}
