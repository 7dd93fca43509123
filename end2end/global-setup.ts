import { startPaydeck } from './paydeck';

/** Starts the release binary on a port the OS picks, waits until it is ready, and stops it
 * after the suite. The server prints the address it bound; that is the only source of truth. */
export default async function globalSetup() {
  const paydeck = await startPaydeck();
  process.env.PAYDECK_URL = paydeck.url;
  // The simulated cluster's admin kubeconfig, for tests that change the cluster.
  process.env.PAYDECK_SIM_KUBECONFIG = paydeck.kubeconfig;
  // Paydeck and its simulated cluster live at the pinned simulated time (see paydeck.ts).
  process.env.PAYDECK_CLOCK_OFFSET_MS = String(paydeck.clockOffsetMs);
  return paydeck.stop;
}
