// Shell commands that reproduce an exchange with the Mosquitto clients: `mosquitto_rr` for a
// request (it subscribes to the response topic, publishes, prints the answer) and `mosquitto_pub`
// for a message without answer (status, command).

export interface ReproConnection {
  host: string;
  port: number;
  /** Authentication arguments, e.g. ['--cafile', 'ca.pem', '--cert', 'c.pem', '--key', 'k.pem']. */
  auth: string[];
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function connArgs(c: ReproConnection): string {
  return ['-h', c.host, '-p', String(c.port), ...c.auth].map((a) => (a.startsWith('"$') ? a : shellQuote(a))).join(' ');
}

export function reproPublish(c: ReproConnection, topic: string, payload: string): string {
  return `mosquitto_pub ${connArgs(c)} -q 1 -t ${shellQuote(topic)} -m ${shellQuote(payload)}`;
}

export function reproRequest(c: ReproConnection, requestTopic: string, responseTopic: string, payload: string, timeoutMs: number): string {
  return `mosquitto_rr ${connArgs(c)} -q 1 -t ${shellQuote(requestTopic)} -e ${shellQuote(responseTopic)} -W ${Math.max(1, Math.ceil(timeoutMs / 1000))} -m ${shellQuote(payload)}`;
}

export function hostPortOf(url: string, fallbackPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port ? Number(u.port) : fallbackPort };
}
