// Validated publishing: the payload is checked against the channel's schema before anything
// leaves the process; an invalid payload or topic parameter publishes nothing.
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import type { ChannelDef } from './channel.js';
import type { TopicParams } from './topic.js';
import type { ValidationIssue } from './validation-issues.js';
import type { Checked } from './validator.js';

export class PayloadValidationError extends Error {
  override readonly name = 'PayloadValidationError';
  constructor(
    readonly channelId: string,
    readonly issues: ValidationIssue[],
    explanation: string,
  ) {
    super(`refusing to publish an invalid ${channelId} message: ${explanation}`);
  }
}

export interface PublishOptions {
  /** MQTT 5 publish properties (ignored by 3.1.1 connections). */
  properties?: IClientPublishOptions['properties'];
}

/** Publishes `payload` as JSON on the channel's topic with the channel's QoS and retain flag. */
export async function publish<P extends TopicParams, M>(
  client: MqttClient,
  ch: ChannelDef<P, M>,
  params: P,
  payload: NoInfer<M>,
  opts: PublishOptions = {},
): Promise<void> {
  if (!ch.message.check(payload)) {
    const issues = ch.message.issues(payload);
    throw new PayloadValidationError(ch.id, issues, ch.message.explain(payload));
  }
  await send(client, ch, params, payload, opts);
}

/** As `publish`, for a payload the channel's validator already accepted (`ch.message.checked(x)`). */
export async function publishChecked<P extends TopicParams, M>(
  client: MqttClient,
  ch: ChannelDef<P, M>,
  params: P,
  payload: Checked<NoInfer<M>>,
  opts: PublishOptions = {},
): Promise<void> {
  await send(client, ch, params, payload, opts);
}

async function send<P extends TopicParams, M>(client: MqttClient, ch: ChannelDef<P, M>, params: P, payload: M, opts: PublishOptions): Promise<void> {
  const topic = ch.topic.format(params);
  const options: IClientPublishOptions = { qos: ch.qos, retain: ch.retain };
  if (opts.properties) options.properties = opts.properties;
  await client.publishAsync(topic, JSON.stringify(payload), options);
}
