// A plain ES module, shared with the benchmarks (bench/ui.mjs).
import { kubeRequest, scaleDeployment } from '../kube.mjs';

/** The simulated cluster's admin kubeconfig, which global-setup.ts names. */
function kubeconfig(): string {
  const path = process.env.PAYDECK_SIM_KUBECONFIG;
  if (!path) throw new Error('PAYDECK_SIM_KUBECONFIG is not set (global-setup.ts sets it)');
  return path;
}

/** Sends one request to the simulated API server as its administrator; resolves with status
 * and parsed body. Tests change the cluster only through its API. */
export function kube(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: any }> {
  return kubeRequest(kubeconfig(), method, path, body, contentType);
}

/** `kubectl scale deployment/NAME --replicas=N -n NAMESPACE`. */
export async function scale(namespace: string, name: string, replicas: number) {
  await scaleDeployment(kubeconfig(), namespace, name, replicas);
}
