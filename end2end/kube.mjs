// The Kubernetes API server of a simulated cluster, reached as an administrator would: over
// HTTPS with the CA and token of the kubeconfig Paydeck wrote (`--sim-kubeconfig`). Tests and
// benchmarks change the cluster only through this API.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

function admin(kubeconfig) {
  const text = readFileSync(kubeconfig, 'utf8');
  const field = (name) => {
    const m = text.match(new RegExp(`${name}:\\s*"?([^"\\s]+)"?`));
    if (!m) throw new Error(`no ${name} in ${kubeconfig}`);
    return m[1];
  };
  return {
    server: new URL(field('server')),
    ca: Buffer.from(field('certificate-authority-data'), 'base64'),
    token: field('token'),
  };
}

/** Sends one request to the API server of `kubeconfig`; resolves with status and parsed body. */
export function kubeRequest(kubeconfig, method, path, body, contentType = 'application/json') {
  const { server, ca, token } = admin(kubeconfig);
  return new Promise((resolve, reject) => {
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
export async function scaleDeployment(kubeconfig, namespace, name, replicas) {
  const res = await kubeRequest(
    kubeconfig,
    'PATCH',
    `/apis/apps/v1/namespaces/${namespace}/deployments/${name}/scale`,
    { spec: { replicas } },
    'application/merge-patch+json',
  );
  if (res.status !== 200) throw new Error(`scaling ${namespace}/${name} answered ${res.status}: ${JSON.stringify(res.body)}`);
}
