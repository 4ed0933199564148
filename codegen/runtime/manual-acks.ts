// QoS 1 acknowledgements sent by the application instead of by mqtt.js. mqtt.js answers PUBACK as
// soon as a message has been emitted, so a message whose work is lost in a crash is lost for good.
// With manualAcks(client) the PUBACK of every QoS 1 message waits until ack(packet) is called
// (serveRequests calls it once the request's answer is published): until then the broker keeps
// the message in the client's session and sends it again when that session reconnects (MQTT 5
// clean start false with a session expiry interval, or 3.1.1 clean false).
//
// How: mqtt.js handles inbound packets one at a time and sends the PUBACK from the callback of
// `client.handleMessage` (its documented hook for "after the message was handled"). Delaying that
// callback would stall every later packet, so the callback is answered at once with an error,
// which makes mqtt.js skip the PUBACK; ack() sends it later, only on the connection the message
// came on (after a reconnect the broker resends it: acknowledging a message id of an old
// connection could acknowledge another message). Relies on mqtt.js 5's handlePublish (checked by
// server/test/mqtt/persistent-session.test.ts).
import type { IPublishPacket, MqttClient, Packet } from 'mqtt';

export interface ManualAcks {
  /** Sends the PUBACK of a QoS 1 message (nothing for QoS 0, or when its connection is gone: it will come again). */
  ack(packet: IPublishPacket): void;
  /** QoS 1 messages received and not acknowledged yet. */
  readonly pending: number;
}

class Deferred extends Error {
  constructor() {
    super('PUBACK deferred until the message is handled');
  }
}
/** One instance for every message: mqtt.js only tests the error's presence (a new Error per message cost its stack trace). */
const DEFERRED = new Deferred();

interface Internals {
  _sendPacket(packet: Packet, cb?: (err?: Error) => void, cbStorePut?: () => void, noStore?: boolean): void;
}

export function manualAcks(client: MqttClient): ManualAcks {
  const connectionOf = new WeakMap<IPublishPacket, unknown>();
  let pending = 0;
  client.handleMessage = (packet: Packet, callback: (error?: Error) => void): void => {
    if (packet.cmd !== 'publish' || packet.qos !== 1 || packet.messageId === undefined) {
      callback();
      return;
    }
    connectionOf.set(packet, client.stream);
    pending += 1;
    callback(DEFERRED);
  };
  return {
    ack(packet) {
      if (!connectionOf.has(packet)) return;
      const stream = connectionOf.get(packet);
      connectionOf.delete(packet);
      pending -= 1;
      if (!client.connected || client.stream !== stream) return;
      (client as unknown as Internals)._sendPacket({ cmd: 'puback', messageId: packet.messageId, reasonCode: 0 } as Packet, undefined, undefined, true);
    },
    get pending() {
      return pending;
    },
  };
}
