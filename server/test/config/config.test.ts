// Configuration: defaults, validation messages, and the generated JWT secret.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadBrokerPublicHost, loadConfig, loadLogLevel, loadLogSettings } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'mkp-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('has working defaults and generates, persists and reuses a JWT secret', () => {
    const env = { DATA_DIR: join(dir, 'data') };
    const c = loadConfig(env);
    expect(c.environment).toBe('development');
    expect(c.demoEnabled).toBe(true);
    expect(c.http.port).toBe(8000);
    expect(c.rateLimits).toEqual({
      perPlayerPerMinute: 600, perUserPerMinute: 1000, provisionPerAddressPerMinute: 30, signupPerAddressPerMinute: 20,
      loginPerEmailPerAddressPerMinute: 10, loginPerAddressPerMinute: 30, passwordChangePerUserPerMinute: 10, registerPlayerPerUserPerMinute: 10, bootstrapPerUserPerMinute: 10,
      tokenRotatePerPlayerPerMinute: 3, renewCertPerPlayerPerMinute: 5, windowSeconds: 60, windowOriginSeconds: 0,
    });
    expect(c.auth).toMatchObject({ tokenTtlSeconds: 604800, accessTokenTtlSeconds: 3600, refreshTokenTtlSeconds: 2592000 });
    expect(c.pki).toMatchObject({ certValidityDays: 365, renewWindowDays: 30 });
    expect(c.deviceTokens).toEqual({ rotation: 'immediate' });
    expect(c.broker.publicHost).toBe('127.0.0.1');
    expect(c.broker.publicPort).toBe(8883);
    expect(c.broker.publicWebsocketUrl).toBe('ws://127.0.0.1:9001');
    expect(c.pki.caDir).toBe(join(dir, 'data', 'certs'));
    expect(c.auth.jwtSecret.length).toBeGreaterThanOrEqual(32);
    const file = join(dir, 'data', 'jwt-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(c.auth.jwtSecret.toString());
    expect(loadConfig(env).auth.jwtSecret.equals(c.auth.jwtSecret)).toBe(true);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      MAKAPIX_ENV: 'production', DATA_DIR: dir, HTTP_PORT: '8080', DATABASE_URL: 'postgres://u@db:5432/x', DATABASE_POOL_MAX: '20',
      MQTT_INTERNAL_PASSWORD: 'pw', MQTT_MTLS_URL: 'mqtts://broker.internal:8883', MQTT_PUBLIC_HOST: 'mqtt.makapix.club',
      MQTT_PUBLIC_PORT: '443', MQTT_PUBLIC_WEBSOCKET_URL: 'wss://makapix.club/mqtt', JWT_SECRET: 'x'.repeat(40),
      TOKEN_TTL_SECONDS: '3600', ACCESS_TOKEN_TTL_SECONDS: '900', REFRESH_TOKEN_TTL_SECONDS: '86400', RATE_LIMIT_PLAYER_PER_MINUTE: '10',
      RATE_LIMIT_PASSWORD_CHANGE_PER_MINUTE: '4',
    });
    expect(c.environment).toBe('production');
    expect(c.demoEnabled).toBe(false);
    expect(c.database).toEqual({ url: 'postgres://u@db:5432/x', poolMax: 20 });
    expect(c.broker).toMatchObject({ publicHost: 'mqtt.makapix.club', publicPort: 443, publicWebsocketUrl: 'wss://makapix.club/mqtt' });
    expect(c.auth).toMatchObject({ tokenTtlSeconds: 3600, accessTokenTtlSeconds: 900, refreshTokenTtlSeconds: 86400 });
    expect(c.rateLimits.passwordChangePerUserPerMinute).toBe(4);
    expect(c.auth.jwtSecret.toString()).toBe('x'.repeat(40));
    expect(c.rateLimits.perPlayerPerMinute).toBe(10);
  });

  it('names every bad variable at once', () => {
    let err: unknown;
    try {
      loadConfig({
        DATA_DIR: dir, HTTP_PORT: 'eighty', MAKAPIX_ENV: 'staging', DATABASE_URL: 'mysql://x', JWT_SECRET: 'short',
        MAKAPIX_MODERATORS: 'alice', SCRYPT_N: '1000', ACCESS_TOKEN_TTL_SECONDS: '7200', REFRESH_TOKEN_TTL_SECONDS: '3600',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of ['HTTP_PORT', 'MAKAPIX_ENV', 'DATABASE_URL', 'JWT_SECRET', 'MAKAPIX_MODERATORS', 'SCRYPT_N', 'REFRESH_TOKEN_TTL_SECONDS']) expect(msg).toContain(name);
    // roles by handle are gone: a deployment still setting them is told what to do instead
    expect(msg).toContain('make admin ARGS="grant moderator <email or user_id>"');
    expect(() => loadConfig({ DATA_DIR: dir, MAKAPIX_ENV: 'production' })).toThrow(/MQTT_INTERNAL_PASSWORD must be set in production/);
  });

  it('reads the broker administration settings and refuses half of a credential pair', () => {
    const c = loadConfig({
      DATA_DIR: dir, HTTP_PORT: '0', MQTT_DYNSEC_ADMIN_USERNAME: 'admin', MQTT_DYNSEC_ADMIN_PASSWORD: 'pw',
      BROKER_CRL_FILE: '/srv/pki/crl.pem', BROKER_PID_FILE: 'run/mosquitto.pid', RATE_LIMIT_PROVISION_PER_MINUTE: '5',
    }, '/srv');
    expect(c.http).toMatchObject({ port: 0, trustProxy: false });
    expect(loadConfig({ DATA_DIR: dir, HTTP_TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).http.trustProxy).toBe('10.0.0.0/8,127.0.0.1');
    expect(loadConfig({ DATA_DIR: dir, HTTP_TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
    expect(() => loadConfig({ DATA_DIR: dir, HTTP_TRUST_PROXY: 'yes please' })).toThrow(/HTTP_TRUST_PROXY must be/);
    expect(c.broker).toMatchObject({ dynsecAdmin: { username: 'admin', password: 'pw' }, crlFile: '/srv/pki/crl.pem', pidFile: '/srv/run/mosquitto.pid' });
    expect(c.rateLimits.provisionPerAddressPerMinute).toBe(5);
    expect(loadConfig({ DATA_DIR: dir }).broker).toMatchObject({ admin: 'mosquitto', dynsecAdmin: null, crlFile: null, pidFile: null });
    expect(loadConfig({ DATA_DIR: dir, BROKER_ADMIN: 'mosquitto' }).broker.admin).toBe('mosquitto');
    expect(() => loadConfig({ DATA_DIR: dir, BROKER_ADMIN: 'emqx' })).toThrow(/BROKER_ADMIN must be one of mosquitto \(got "emqx"\)/);
    expect(() => loadConfig({ DATA_DIR: dir, MQTT_DYNSEC_ADMIN_USERNAME: 'admin' }))
      .toThrow(/MQTT_DYNSEC_ADMIN_USERNAME and MQTT_DYNSEC_ADMIN_PASSWORD must be set together/);
    expect(() => loadConfig({ DATA_DIR: dir, RATE_LIMIT_PROVISION_PER_MINUTE: '0' })).toThrow(/RATE_LIMIT_PROVISION_PER_MINUTE must be an integer between 1 and/);
  });

  it('reads the log level and the MQTT workers\' tuning, with defaults', () => {
    const c = loadConfig({ DATA_DIR: dir });
    expect(c.logLevel).toBe('info');
    expect(c.workers).toEqual({
      presenceSweepSeconds: 30, presenceTimeoutSeconds: 180, statusBatchMs: 20, outboxPollSeconds: 5, fanoutChunk: 5000, housekeepingSeconds: 600,
    });
    const o = loadConfig({
      DATA_DIR: dir, LOG_LEVEL: 'debug', PRESENCE_SWEEP_SECONDS: '2', PRESENCE_TIMEOUT_SECONDS: ' 5 ', STATUS_BATCH_MS: '0',
      OUTBOX_POLL_SECONDS: '7', FANOUT_CHUNK: '250', HOUSEKEEPING_SECONDS: '10',
    });
    expect(o.logLevel).toBe('debug');
    expect(o.workers).toEqual({ presenceSweepSeconds: 2, presenceTimeoutSeconds: 5, statusBatchMs: 0, outboxPollSeconds: 7, fanoutChunk: 250, housekeepingSeconds: 10 });
  });

  it('reads MQTT_INBOUND_IN_FLIGHT (the main connection\'s Receive Maximum), 1000 by default, and names a bad one', () => {
    expect(loadConfig({ DATA_DIR: dir }).broker.inboundInFlight).toBe(1000);
    expect(loadConfig({ DATA_DIR: dir, MQTT_INBOUND_IN_FLIGHT: '5000' }).broker.inboundInFlight).toBe(5000);
    for (const bad of ['0', '65536', 'many']) {
      expect(() => loadConfig({ DATA_DIR: dir, MQTT_INBOUND_IN_FLIGHT: bad })).toThrow(`MQTT_INBOUND_IN_FLIGHT must be an integer between 1 and 65535 (got "${bad}")`);
    }
  });

  it('names each bad log level or worker setting', () => {
    let err: unknown;
    try {
      loadConfig({
        DATA_DIR: dir, LOG_LEVEL: 'loud', PRESENCE_SWEEP_SECONDS: 'soon', PRESENCE_TIMEOUT_SECONDS: '0', STATUS_BATCH_MS: '5001',
        OUTBOX_POLL_SECONDS: '-1', FANOUT_CHUNK: '20001', HOUSEKEEPING_SECONDS: '9',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'PRESENCE_SWEEP_SECONDS must be an integer between 1 and 3600 (got "soon")',
      'PRESENCE_TIMEOUT_SECONDS must be an integer between 1 and 86400 (got "0")',
      'STATUS_BATCH_MS must be an integer between 0 and 5000 (got "5001")',
      'OUTBOX_POLL_SECONDS must be an integer between 1 and 3600 (got "-1")',
      'FANOUT_CHUNK must be an integer between 1 and 20000 (got "20001")',
      'HOUSEKEEPING_SECONDS must be an integer between 10 and 86400 (got "9")',
    ]);
  });

  it('reads LOG_LEVEL alone for a logger needed before the rest (loadLogLevel)', () => {
    expect(loadLogLevel({})).toBe('info');
    expect(loadLogLevel({ LOG_LEVEL: 'warn' })).toBe('warn');
    expect(() => loadLogLevel({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent \(got "verbose"\)/);
  });

  it('reads the vault settings: where files are kept, the public URL and the path it gives, the limits', () => {
    const d = loadConfig({ DATA_DIR: dir });
    expect(d.vault).toEqual({
      dir: join(dir, 'vault'), publicUrl: null, routePrefix: '/vault',
      limits: { maxBytes: 5 * 1024 * 1024, maxWidth: 256, maxHeight: 256, maxFrames: 1024 }, sweepIntervalSeconds: 3600,
    });
    const c = loadConfig({
      DATA_DIR: dir, VAULT_DIR: 'art', VAULT_PUBLIC_URL: 'https://cdn.example.com/pixel/vault/', VAULT_MAX_BYTES: '1000',
      VAULT_MAX_WIDTH: '64', VAULT_MAX_HEIGHT: '32', VAULT_MAX_FRAMES: '8', VAULT_SWEEP_INTERVAL_SECONDS: '0',
    }, '/srv');
    expect(c.vault).toEqual({
      dir: '/srv/art', publicUrl: 'https://cdn.example.com/pixel/vault', routePrefix: '/pixel/vault',
      limits: { maxBytes: 1000, maxWidth: 64, maxHeight: 32, maxFrames: 8 }, sweepIntervalSeconds: 0,
    });
    expect(loadConfig({ DATA_DIR: dir, VAULT_PUBLIC_URL: 'https://vault.example.com' }).vault).toMatchObject({ publicUrl: 'https://vault.example.com', routePrefix: '' });
    expect(loadConfig({ DATA_DIR: dir, VAULT_PUBLIC_URL: 'http://localhost:8000/' }).vault).toMatchObject({ publicUrl: 'http://localhost:8000', routePrefix: '' });
    for (const bad of ['ftp://vault.example.com', 'https://vault.example.com/?x=1', 'https://u:p@vault.example.com', 'not a url', 'https://h/a%20b']) {
      expect(() => loadConfig({ DATA_DIR: dir, VAULT_PUBLIC_URL: bad }), bad).toThrow(/VAULT_PUBLIC_URL must be an http:\/\/ or https:\/\/ URL/);
    }
    expect(() => loadConfig({ DATA_DIR: dir, VAULT_MAX_WIDTH: '5000', VAULT_MAX_FRAMES: '0' })).toThrow(/VAULT_MAX_WIDTH must be an integer between 1 and 4096[\s\S]*VAULT_MAX_FRAMES must be an integer between 1 and 100000/);
  });

  it('reads DOCS_DIR, the folder of the published docs (default docs/site under the working directory)', () => {
    expect(loadConfig({ DATA_DIR: dir }, '/srv/app').docs).toEqual({ dir: '/srv/app/docs/site' });
    expect(loadConfig({ DATA_DIR: dir, DOCS_DIR: 'public/api' }, '/srv/app').docs).toEqual({ dir: '/srv/app/public/api' });
    expect(loadConfig({ DATA_DIR: dir, DOCS_DIR: '/var/www/docs' }, '/srv/app').docs).toEqual({ dir: '/var/www/docs' });
  });

  it('reads the metrics listener (default 127.0.0.1:9464, 0 turns metrics off) and names a bad one', () => {
    expect(loadConfig({ DATA_DIR: dir }).metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({ DATA_DIR: dir, METRICS_HOST: '0.0.0.0', METRICS_PORT: '9100' }).metrics).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(loadConfig({ DATA_DIR: dir, METRICS_PORT: '0' }).metrics.port).toBe(0);
    let err: unknown;
    try {
      loadConfig({ DATA_DIR: dir, METRICS_HOST: 'not a host', METRICS_PORT: '70000' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'METRICS_HOST must be a host name or IP address (got "not a host")',
      'METRICS_PORT must be an integer between 0 and 65535 (got "70000")',
    ]);
    expect(() => loadConfig({ DATA_DIR: dir, HTTP_PORT: '9464' }))
      .toThrow(/METRICS_PORT must differ from HTTP_PORT on the same host \(both 127.0.0.1:9464\)/);
    expect(loadConfig({ DATA_DIR: dir, HTTP_PORT: '9464', METRICS_PORT: '0' }).metrics.port).toBe(0);
    expect(loadConfig({ DATA_DIR: dir, HTTP_PORT: '9464', METRICS_HOST: '127.0.0.2' }).metrics.port).toBe(9464);
  });

  it('reads LOG_FORMAT (auto, pretty, json) and refuses pretty in production', () => {
    expect(loadConfig({ DATA_DIR: dir }).logFormat).toBe('auto');
    expect(loadConfig({ DATA_DIR: dir, LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ DATA_DIR: dir, LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ DATA_DIR: dir, LOG_FORMAT: 'colour' })).toThrow(/LOG_FORMAT must be one of auto, pretty, json \(got "colour"\)/);
    expect(() => loadConfig({ DATA_DIR: dir, MAKAPIX_ENV: 'production', MQTT_INTERNAL_PASSWORD: 'pw', LOG_FORMAT: 'pretty' }))
      .toThrow(/LOG_FORMAT must be json or auto in production/);
    expect(loadLogSettings({})).toEqual({ level: 'info', format: 'auto', environment: 'development' });
    expect(loadLogSettings({ NODE_ENV: 'production', LOG_LEVEL: 'warn' })).toEqual({ level: 'warn', format: 'auto', environment: 'production' });
    expect(() => loadLogSettings({ LOG_FORMAT: 'pretty', MAKAPIX_ENV: 'production' })).toThrow(/LOG_FORMAT must be json or auto in production/);
  });

  it('reads the certificate validity and renewal window, the device-token rotation mode and its rate limits', () => {
    const c = loadConfig({
      DATA_DIR: dir, CERT_VALIDITY_DAYS: '1095', CERT_RENEW_WINDOW_DAYS: '90', DEVICE_TOKEN_ROTATION: 'owner_confirmation',
      RATE_LIMIT_TOKEN_ROTATE_PER_MINUTE: '7', RATE_LIMIT_RENEW_CERT_PER_MINUTE: '2',
    });
    expect(c.pki).toMatchObject({ certValidityDays: 1095, renewWindowDays: 90 });
    expect(c.deviceTokens.rotation).toBe('owner_confirmation');
    expect(c.rateLimits).toMatchObject({ tokenRotatePerPlayerPerMinute: 7, renewCertPerPlayerPerMinute: 2 });
  });

  it('names each bad certificate or device-token setting', () => {
    expect(() => loadConfig({ DATA_DIR: dir, CERT_VALIDITY_DAYS: '5000', DEVICE_TOKEN_ROTATION: 'never', RATE_LIMIT_RENEW_CERT_PER_MINUTE: '0' })).toThrow(
      /RATE_LIMIT_RENEW_CERT_PER_MINUTE must be an integer between 1 and 1000000[\s\S]*CERT_VALIDITY_DAYS must be an integer between 2 and 3650[\s\S]*DEVICE_TOKEN_ROTATION must be one of immediate, owner_confirmation/,
    );
    // a window as long as the validity would let every new certificate be renewed at once
    expect(() => loadConfig({ DATA_DIR: dir, CERT_VALIDITY_DAYS: '30', CERT_RENEW_WINDOW_DAYS: '30' })).toThrow(
      /CERT_RENEW_WINDOW_DAYS \(30\) must be less than CERT_VALIDITY_DAYS \(30\)/,
    );
  });

  it('reads MQTT_PUBLIC_HOST alone for the dev PKI (loadBrokerPublicHost), defaulting to the mTLS URL host', () => {
    expect(loadBrokerPublicHost({})).toBe('127.0.0.1');
    expect(loadBrokerPublicHost({ MQTT_MTLS_URL: 'mqtts://broker.internal:8883' })).toBe('broker.internal');
    expect(loadBrokerPublicHost({ MQTT_PUBLIC_HOST: 'mqtt.makapix.club' })).toBe('mqtt.makapix.club');
    expect(() => loadBrokerPublicHost({ MQTT_PUBLIC_HOST: 'bad host' })).toThrow(/MQTT_PUBLIC_HOST must be a host name or IP address/);
  });
});
