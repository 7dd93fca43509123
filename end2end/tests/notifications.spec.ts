import { expect, test } from '@playwright/test';

// The suite's Paydeck sends its notifications to a receiver started beside it (global-setup.ts):
// one Slack-like sink, `payments-team`, taking changes.

type Received = { path: string; body: { text?: string } };

async function received(): Promise<Received[]> {
  const res = await fetch(`${process.env.PAYDECK_RECEIVER_URL}/received`);
  return res.json();
}

test('the notifications page lists each sink, sends a test message and shows it delivered', async ({ page, context }) => {
  await context.addCookies([{ name: 'paydeck_demo_user', value: 'operator', url: process.env.PAYDECK_URL! }]);
  await page.goto('/settings/notifications');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByRole('heading', { name: 'Notifications', level: 1 })).toBeVisible();
  const row = page.locator('tr[data-sink="payments-team"]');
  await expect(row).toContainText('Slack');
  await expect(row).toContainText('changes');
  await expect(row).toContainText('at most 60 a minute');
  // Shown by host only: the webhook's path (a Slack URL's secret part) is not on the page.
  await expect(row).toContainText('127.0.0.1:');
  await expect(page.locator('body')).not.toContainText('/slack');

  const before = (await received()).filter((r) => r.body.text?.includes('Test message from Paydeck')).length;
  const send = row.getByRole('button', { name: 'Send test to payments-team' });
  await send.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('test-result')).toHaveText('A test message to payments-team is on its way.');
  await expect
    .poll(async () => (await received()).filter((r) => r.body.text?.includes('Test message from Paydeck to payments-team')).length, {
      timeout: 15_000,
    })
    .toBe(before + 1);
  const text = (await received()).find((r) => r.body.text?.includes('Test message from Paydeck'))!.body.text!;
  expect(text).toContain('Sent by operator');

  // A second click at once is refused (a sink's rate is not spent on clicks), and says when.
  await send.click();
  await expect(page.getByTestId('test-result')).toContainText('try again in');
  // The delivery shows (the page polls; a reload reads it at once).
  await expect
    .poll(async () => {
      await page.reload();
      return Number(await page.locator('tr[data-sink="payments-team"] td').nth(2).innerText());
    }, { timeout: 15_000 })
    .toBeGreaterThanOrEqual(1);
});

test('the footer leads to the notifications page', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('contentinfo').getByRole('link', { name: 'Notifications' }).click();
  await expect(page).toHaveURL(/\/settings\/notifications$/);
  await expect(page.getByRole('heading', { name: 'Notifications', level: 1 })).toBeVisible();
});
