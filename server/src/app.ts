// Builds the Fastify app: every generated route with its handler, bearer auth, the one error shape.
// Only main.ts listens; tests use app.inject or listen on a free port.
import Fastify, { type FastifyInstance } from 'fastify';
import { restClientErrorHandler, restFrameworkErrors, restNotFoundHandler, useStrictJsonBodies } from '#runtime/v1';
import { registerRoutes, type Handlers } from '@makapix/contract/openapi/routes';
import type { AppContext } from './context.js';
import { registerDocsRoutes } from './docs/serve.js';
import { withSecretRedaction } from './logging/index.js';
import { recordHttpMetrics } from './metrics/index.js';
import { API_PREFIXES } from './rest/api-prefix.js';
import { bearerAuthenticator } from './rest/auth-hook.js';
import { authHandlers } from './rest/auth.js';
import { commandHandlers } from './rest/commands.js';
import { followHandlers } from './rest/follows.js';
import { healthHandlers } from './rest/health.js';
import { mqttHandlers } from './rest/mqtt.js';
import { playerHandlers } from './rest/players.js';
import { registerMultipart } from './rest/multipart.js';
import { postHandlers } from './rest/posts.js';
import { registerVaultRoutes } from './vault/index.js';

export const BODY_LIMIT_BYTES = 64 * 1024;

export function handlers(ctx: AppContext): Handlers {
  return {
    ...authHandlers(ctx),
    ...postHandlers(ctx),
    ...followHandlers(ctx),
    ...playerHandlers(ctx),
    ...commandHandlers(ctx),
    ...mqttHandlers(ctx),
    ...healthHandlers(ctx),
  };
}

export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    // request logs show /player/<redacted>/credentials and no headers (logging/redacting-logger.ts)
    loggerInstance: withSecretRedaction(ctx.log),
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: ctx.config.http.trustProxy,
    // what fails before any route runs still gets the one error shape and a documented status
    frameworkErrors: restFrameworkErrors,
    clientErrorHandler: restClientErrorHandler,
  });
  useStrictJsonBodies(app);
  app.decorateRequest('user', null);
  app.decorateRequest('device', null);
  app.setNotFoundHandler(restNotFoundHandler);
  recordHttpMetrics(app as unknown as FastifyInstance, ctx.metrics);
  // createPost's upload (multipart/form-data); other routes refuse multipart bodies before parsing
  await registerMultipart(app as unknown as FastifyInstance, { maxFileBytes: ctx.config.vault.limits.maxBytes });
  registerVaultRoutes(app as unknown as FastifyInstance, { vault: ctx.vault, sql: ctx.sql });
  // the published docs (make docs), at the root only
  registerDocsRoutes(app as unknown as FastifyInstance, { dir: ctx.config.docs.dir });
  // Every operation at its spec path and, identically, under /api (the p3a firmware's base) and
  // /api/v1 (the Makapix app's; spec `servers`). The vault is served only under the path of
  // VAULT_PUBLIC_URL, which is what art_url and the firmware's own URLs use.
  const all = handlers(ctx);
  const authenticate = bearerAuthenticator(ctx);
  registerRoutes(app as unknown as FastifyInstance, all, { authenticate });
  for (const prefix of API_PREFIXES) {
    await app.register(
      async (api) => {
        registerRoutes(api as unknown as FastifyInstance, all, { authenticate });
      },
      { prefix },
    );
  }
  return app;
}
