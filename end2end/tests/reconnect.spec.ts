import { expect, test } from '@playwright/test';
import { startPaydeck } from '../paydeck';

// Its own server: this journey stops Paydeck under an open page and starts it again on the
// same address, as a rolling restart would.
test('the page says when the live connection drops and reconnects by itself', async ({ page }) => {
  // No simulated past: this journey is about the connection, and restarts must be quick.
  const first = await startPaydeck(undefined, undefined, '');
  const listen = new URL(first.url).host;
  let second: Awaited<ReturnType<typeof startPaydeck>> | undefined;
  try {
    await page.goto(`${first.url}/services`);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
    await expect(page.getByTestId('live-status')).toHaveText('Live');
    await page.evaluate(() => ((window as any).notReloaded = true));

    await first.stop();
    await expect(page.getByTestId('live-status')).toHaveText('Reconnecting…');
    await expect(page.getByRole('alert').filter({ hasText: "Paydeck's server is not answering" })).toBeVisible();

    second = await startPaydeck(listen, undefined, '');
    await expect(page.getByTestId('live-status')).toHaveText('Live', { timeout: 45_000 });
    await expect(page.getByRole('alert')).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).notReloaded)).toBe(true);
  } finally {
    await first.stop();
    await second?.stop();
  }
});
