// Packets written to the broker in one turn of the event loop leave in one write: the client's
// socket is corked at the first packet and uncorked by setImmediate, right after the I/O callbacks
// of this turn. mqtt-packet corks and uncorks each packet on its own (one writev syscall per
// packet: a response and the PUBACK of its request were two); under load the answers to the many
// requests read in one turn now share one syscall. An idle server adds no delay: the uncork runs
// in the same turn of the loop.
import type { MqttClient } from 'mqtt';
import type { Writable } from 'node:stream';

/** Starts coalescing the client's writes; returns the function that stops it. */
export function coalesceWrites(client: MqttClient): () => void {
  let corked: Writable | null = null;
  const onSend = (): void => {
    const stream = client.stream as Writable | undefined;
    if (corked !== null || stream === undefined || stream.destroyed || stream.writableEnded) return;
    corked = stream;
    stream.cork();
    setImmediate(() => {
      const s = corked;
      corked = null;
      s?.uncork();
    });
  };
  client.on('packetsend', onSend);
  return () => {
    client.removeListener('packetsend', onSend);
  };
}
