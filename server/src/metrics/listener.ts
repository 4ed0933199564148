// The Prometheus listener: GET /metrics on its own host and port (METRICS_HOST, METRICS_PORT), apart
// from the public REST API, so that it can stay on a private interface. Plain node:http: one route.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './server-metrics.js';

export const METRICS_PATH = '/metrics';

export interface MetricsListener {
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

export class MetricsListenError extends Error {
  override readonly name = 'MetricsListenError';
}

export async function startMetricsListener(
  metrics: Metrics,
  where: { host: string; port: number },
  onError: (err: unknown) => void,
): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: the metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    metrics.exposition().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        onError(err);
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('could not collect the metrics\n');
      },
    );
  });
  server.keepAliveTimeout = 65_000; // longer than a scraper's idle connection reuse
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new MetricsListenError(
        `the metrics listener cannot listen on ${where.host}:${where.port} (METRICS_HOST, METRICS_PORT): ${err.code ?? err.message}; set another METRICS_PORT, or 0 to turn metrics off`,
      ));
    });
    server.listen(where.port, where.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}${METRICS_PATH}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
