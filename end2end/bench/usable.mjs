// Time to a usable page in Chromium: navigation start until the page is hydrated and shows at
// least COUNT elements matching SELECTOR. `node bench/usable.mjs URL PATH SELECTOR COUNT
// [RUNS]` prints one JSON line {"median": ms, "worst": ms}; used by the benchmarks written in
// Rust (`make bench-fleet`), which judge the figure.
import { chromium } from '@playwright/test';

const [url, path, selector, count, runs = '5'] = process.argv.slice(2);
if (!url || !path || !selector || !count) {
  console.error('usage: node bench/usable.mjs URL PATH SELECTOR COUNT [RUNS]');
  process.exit(2);
}
// Debian's Chromium, as the browser tests use (no browser is downloaded).
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const times = [];
try {
  for (let i = 0; i < Number(runs); i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${url}${path}`, { waitUntil: 'commit' });
    await page.waitForFunction(
      ([s, n]) => document.documentElement.dataset.hydrated === 'true' && document.querySelectorAll(s).length >= n,
      [selector, Number(count)],
      { timeout: 30_000, polling: 'raf' },
    );
    times.push(await page.evaluate(() => performance.now()));
    await page.close();
  }
} finally {
  await browser.close();
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ median: times[Math.floor(times.length / 2)], worst: times[times.length - 1] }));
