import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, test, type Page } from '@playwright/test';
import { kube } from './cluster';

// WCAG 2.1 A and AA, as axe-core (pinned in package.json) checks them, on every page as a
// signed-in operator sees it (the edit panel included), in light and in dark: no violations.
// axe is evaluated in the page through the browser's protocol, which the pages' CSP does not
// govern; nothing is added to the page itself.
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const PAGES: [string, string][] = [
  ['overview', '/'],
  ['services', '/services'],
  ['service', '/services/payments-core/ledger?range=1h'],
  ['service without an HPA', '/services/payments-core/fx-rates?range=1h'],
  ['service another tool writes', '/services/payments-core/payment-api?range=1h'],
  ['advisor', '/advisor'],
  ['planner', '/planner'],
  ['audit', '/audit'],
  ['fleet', '/fleet'],
  ['plans', '/plans'],
  ['notifications', '/settings/notifications'],
  ['not found', '/no-such-page'],
];

type Violation = { id: string; impact: string; help: string; nodes: { target: string[]; failureSummary: string }[] };

async function violations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const found: Violation[] = await page.evaluate(async () => {
    // @ts-expect-error axe is defined by the script evaluated above.
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations;
  });
  return found.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help} — ${v.nodes.length} element(s), e.g. ${v.nodes
        .slice(0, 3)
        .map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`)
        .join(' | ')}`,
  );
}

for (const [name, path] of PAGES) {
  test(`accessible: ${name}, light and dark`, async ({ page, context }) => {
    await context.addCookies([{ name: 'paydeck_demo_user', value: 'operator', url: process.env.PAYDECK_URL! }]);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(path);
      await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
      await page.waitForLoadState('networkidle').catch(() => {});
      // Charts and transitions settle (colours mid-animation are not what a reader sees).
      await page.waitForTimeout(700);
      expect(await violations(page), `${name} in ${scheme}`).toEqual([]);
    }
  });
}

/** Presses Tab until the focused element is the one `matches` picks (at most 150 times), and
 * checks that it shows it has the focus. */
async function tabTo(page: Page, what: string, matches: (label: string, text: string) => boolean) {
  for (let i = 0; i < 150; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const e = document.activeElement as HTMLElement & { labels?: NodeListOf<HTMLLabelElement> };
      const style = getComputedStyle(e);
      return {
        label: e.labels?.[0]?.textContent?.trim() ?? '',
        text: e.textContent?.trim() ?? '',
        outlined: style.outlineStyle !== 'none' && style.outlineWidth !== '0px',
      };
    });
    if (matches(focused.label, focused.text)) {
      expect(focused.outlined, `${what} shows the keyboard focus`).toBe(true);
      return;
    }
  }
  throw new Error(`${what} was never reached with Tab`);
}

test('the edit form works from the keyboard alone: fields, preview and apply, focus visible', async ({ page, context }) => {
  const path = '/apis/autoscaling/v2/namespaces/payments-edge/horizontalpodautoscalers/api-gateway';
  const before = (await kube('GET', path)).body.spec.maxReplicas as number;
  await context.addCookies([{ name: 'paydeck_demo_user', value: 'operator', url: process.env.PAYDECK_URL! }]);
  await page.goto('/services/payments-edge/api-gateway');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('edit-panel')).toBeVisible();

  await tabTo(page, 'Maximum replicas', (label) => label === 'Maximum replicas');
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type(String(before + 1));
  await tabTo(page, 'the reason', (label) => label.startsWith('Reason'));
  await page.keyboard.type('CHG-KBD keyboard only');
  await tabTo(page, 'Preview change', (_, text) => text === 'Preview change');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('preview')).toContainText('nothing changed yet');
  expect((await kube('GET', path)).body.spec.maxReplicas, 'the preview changed nothing').toBe(before);
  await tabTo(page, 'Apply change', (_, text) => text === 'Apply change');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('edit-result')).toContainText('Applied');
  expect((await kube('GET', path)).body.spec.maxReplicas).toBe(before + 1);

  // Leave the cluster as the other tests expect it.
  const back = await kube('PATCH', path, { spec: { maxReplicas: before } }, 'application/merge-patch+json');
  expect(back.status).toBe(200);
});
