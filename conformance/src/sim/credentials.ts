// What a player needs to connect: its key and the TLS material of getPlayerCredentials, either
// fetched from the REST API or read from files.
import { readFileSync } from 'node:fs';
import { compileValidator, type Validator } from '#runtime/v1';
import { PlayerCredentials } from '@makapix/contract/openapi/schemas';
import { PlayerKey } from '@makapix/contract/components/identifiers';

export const PlayerCredentialsValidator: Validator<PlayerCredentials> = compileValidator<PlayerCredentials>(PlayerCredentials);
const PlayerKeyValidator: Validator<PlayerKey> = compileValidator<PlayerKey>(PlayerKey);

/** getPlayerCredentials' body plus the key it belongs to. */
export type SimCredentials = PlayerCredentials & { player_key: PlayerKey };

/** `mqtts://host:port` of the broker the credentials name (IPv6 hosts get brackets). */
export function brokerUrlOf(creds: Pick<PlayerCredentials, 'broker'>): string {
  const host = creds.broker.host.includes(':') ? `[${creds.broker.host}]` : creds.broker.host;
  return `mqtts://${host}:${creds.broker.port}`;
}

/**
 * Credentials from PEM files (`--cert/--key/--ca`). `broker` is a URL (mqtts://host:port); when
 * missing the result has no usable broker and connect() needs a brokerUrl.
 */
export function readCredentialFiles(files: { playerKey: string; cert: string; key: string; ca: string; broker?: string }): SimCredentials {
  if (!PlayerKeyValidator.check(files.playerKey)) throw new Error(`invalid player key ${JSON.stringify(files.playerKey)}: ${PlayerKeyValidator.explain(files.playerKey)}`);
  const broker = files.broker ? new URL(files.broker) : undefined;
  const creds: SimCredentials = {
    player_key: files.playerKey,
    ca_pem: readFileSync(files.ca, 'utf8'),
    cert_pem: readFileSync(files.cert, 'utf8'),
    key_pem: readFileSync(files.key, 'utf8'),
    broker: { host: broker ? broker.hostname.replace(/^\[|\]$/g, '') : 'localhost', port: broker?.port ? Number(broker.port) : 8883 },
  };
  const { player_key: _key, ...body } = creds;
  if (!PlayerCredentialsValidator.check(body)) throw new Error(`invalid credential files: ${PlayerCredentialsValidator.explain(body)}`);
  return creds;
}
