// A channel as the generated code describes it: its topic template, delivery options and the
// validator of its message.
import type { TopicParams, TopicTemplate } from './topic.js';
import type { Validator } from './validator.js';

export interface ChannelDef<P extends TopicParams, M> {
  /** The AsyncAPI channel id. */
  id: string;
  topic: TopicTemplate<P>;
  qos: 0 | 1 | 2;
  retain: boolean;
  message: Validator<M>;
}
