import { readFileSync } from 'node:fs';
import { request } from 'node:https';

/** The simulated cluster, reached as an administrator would: over HTTPS with the CA and token
 * from the kubeconfig Paydeck wrote. Tests change the cluster only through its API. */
function admin() {
  const path = process.env.PAYDECK_SIM_KUBECONFIG;
  if (!path) throw new Error('PAYDECK_SIM_KUBECONFIG is not set (global-setup.ts sets it)');
  const text = readFileSync(path, 'utf8');
  const field = (name: string) => {
    const m = text.match(new RegExp(`${name}:\\s*"?([^"\\s]+)"?`));
    if (!m) throw new Error(`no ${name} in ${path}`);
    return m[1];
  };
  return {
    server: new URL(field('server')),
    ca: Buffer.from(field('certificate-authority-data'), 'base64'),
    token: field('token'),
  };
}

/** Sends one request to the simulated API server; resolves with status and parsed body. */
export function kube(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const { server, ca, token } = admin();
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(
      {
        host: server.hostname,
        port: server.port,
        path,
        method,
        ca,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType, Accept: 'application/json' },
      },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : null }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

/** `kubectl scale deployment/NAME --replicas=N -n NAMESPACE`. */
export async function scale(namespace: string, name: string, replicas: number) {
  const res = await kube(
    'PATCH',
    `/apis/apps/v1/namespaces/${namespace}/deployments/${name}/scale`,
    { spec: { replicas } },
    'application/merge-patch+json',
  );
  if (res.status !== 200) throw new Error(`scaling ${namespace}/${name} answered ${res.status}: ${JSON.stringify(res.body)}`);
}
