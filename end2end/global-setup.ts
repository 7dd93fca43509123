import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPaydeck } from './paydeck';

/** Starts the release binary on a port the OS picks, waits until it is ready, and stops it
 * after the suite. The server prints the address it bound; that is the only source of truth.
 * Beside it, a webhook receiver stands in for a team's chat: Paydeck's notifications go there,
 * and `GET /received` lists what arrived. */
export default async function globalSetup() {
  const receiver = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'paydeck-e2e-notify-'));
  const file = join(dir, 'notifications.yaml');
  writeFileSync(
    file,
    `groupWaitSeconds: 0\nsinks:\n  - { name: payments-team, type: slack, url: "${receiver.url}/slack", route: { events: [change] } }\n`,
  );
  const paydeck = await startPaydeck(undefined, undefined, undefined, {}, { PAYDECK_NOTIFICATIONS_FILE: file });
  process.env.PAYDECK_URL = paydeck.url;
  process.env.PAYDECK_RECEIVER_URL = receiver.url;
  // The simulated cluster's admin kubeconfig, for tests that change the cluster.
  process.env.PAYDECK_SIM_KUBECONFIG = paydeck.kubeconfig;
  // Paydeck and its simulated cluster live at the pinned simulated time (see paydeck.ts).
  process.env.PAYDECK_CLOCK_OFFSET_MS = String(paydeck.clockOffsetMs);
  return async () => {
    await paydeck.stop();
    receiver.close();
  };
}

/** A Slack-like incoming webhook on a free loopback port. */
function startReceiver(): Promise<{ url: string; close: () => void }> {
  const received: { path: string; body: unknown }[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/received') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(received));
      return;
    }
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      try {
        received.push({ path: req.url ?? '', body: JSON.parse(body) });
      } catch {
        received.push({ path: req.url ?? '', body });
      }
      res.end('ok');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => server.close() });
    });
  });
}
