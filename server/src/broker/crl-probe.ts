// Does the broker enforce a revocation yet? Asked by connecting to its mTLS listener with a
// throw-away certificate that carries the revoked serial (pki issueRevocationProbe): a broker whose
// loaded CRL lists the serial refuses the handshake with the TLS alert "certificate revoked"; one
// that has not loaded it yet accepts the connection (which is closed at once). This is the proof
// that a deleted player's certificate no longer gets in, whoever reloaded or restarted the broker.
import mqtt from 'mqtt';
import { issueRevocationProbe, type CertificateAuthority } from '../pki/index.js';

export type ProbeResult = 'refused' | 'accepted' | { error: string };

export interface ProbeOptions {
  /** The mTLS listener (mqtts://host:port). */
  url: string;
  /** The CA the listener trusts for client certificates (the deployment CA, which signs the probe). */
  ca: CertificateAuthority;
  /** Lower-case hex serial of the revoked certificate. */
  serialHex: string;
  timeoutMs?: number;
}

const REVOKED_ALERT = 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED';

/** 'refused' (revocation in force), 'accepted' (not yet), or why the broker could not be asked. */
export async function probeRevocation(o: ProbeOptions): Promise<ProbeResult> {
  const probe = await issueRevocationProbe(o.ca, o.serialHex);
  try {
    const client = await mqtt.connectAsync(o.url, {
      protocolVersion: 5,
      clean: true,
      cert: probe.certPem,
      key: probe.keyPem,
      ca: o.ca.certPem,
      // Only our certificate is being tested; nothing secret is sent on this connection.
      rejectUnauthorized: false,
      reconnectPeriod: 0,
      connectTimeout: o.timeoutMs ?? 5_000,
      properties: { sessionExpiryInterval: 0 },
    });
    client.end(true);
    return 'accepted';
  } catch (err) {
    const e = err as Error & { code?: unknown };
    if (e.code === REVOKED_ALERT || /certificate revoked/i.test(e.message)) return 'refused';
    return { error: `${typeof e.code === 'string' ? `${e.code}: ` : ''}${e.message}` };
  }
}
