// REST metrics: every answered request counted and timed under its route's spec path template
// (request.routeOptions.config.operationId, set by the generated route registration), never its URL.
import type { FastifyInstance } from 'fastify';
import type { RouteConfig } from '../../../codegen/runtime/index.js';
import { routeLabel } from './labels.js';
import type { Metrics } from './server-metrics.js';

export function recordHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  if (!metrics.enabled) return;
  app.addHook('onResponse', (request, reply, done) => {
    const config = request.routeOptions.config as Partial<RouteConfig> | undefined;
    metrics.httpRequest(routeLabel(config?.operationId, request.routeOptions.url), request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
