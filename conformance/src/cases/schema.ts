// The schema of the case files under conformance/cases/*.yaml (flows and negatives written as
// data). It describes the suite's own test data, not a protocol shape: payloads come from the
// spec's examples (`example: QueryPostsRequest.first_page`) with small, explicit changes.
import { type Static, Type } from 'typebox';
import { ErrorCode } from '@makapix/contract/components/errors';
import { ConnectionStatus, PostId } from '@makapix/contract/components/identifiers';

const Name = Type.String({ pattern: '^[a-z0-9_]+$', minLength: 1, maxLength: 80, description: 'A name segment: lower-case letters, digits, _.' });
const Feature = Type.String({ pattern: '^[a-z0-9_]+$', minLength: 1, maxLength: 40 });
const ExampleRef = Type.String({ pattern: '^[A-Z][A-Za-z0-9]*\\.[a-z0-9_]+$', description: 'Message.example_name of generated/asyncapi/examples.ts.' });

/** A message to publish: an example (placeholders substituted) or raw text, then changes. */
export const MessageSpec = Type.Object({
  example: Type.Optional(ExampleRef),
  raw: Type.Optional(Type.String({ description: 'Raw payload text (templates allowed); not validated before sending.' })),
  set: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Field (or /json/pointer) -> new value; string values may be templates like {{player_key}}.' })),
  unset: Type.Optional(Type.Array(Type.String(), { description: 'Fields (or /json/pointers) to remove.' })),
  topic_request_id: Type.Optional(Type.String({ description: 'The request id of the topic when it must differ from the payload (template).' })),
}, { additionalProperties: false });
export type MessageSpec = Static<typeof MessageSpec>;

export const Expect = Type.Object({
  success: Type.Optional(Type.Boolean()),
  error_code: Type.Optional(ErrorCode),
  same_as: Type.Optional(Name),
}, { additionalProperties: false, description: 'Explicit expectation; without it the answer example paired with the request example decides.' });
export type Expect = Static<typeof Expect>;

const Common = {
  note: Type.Optional(Type.String()),
  each: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, description: 'Repeat the step once per item ({{item}}).' })),
};

export const SendStep = Type.Object({
  send: MessageSpec,
  expect: Type.Optional(Expect),
  save: Type.Optional(Name),
  ...Common,
}, { additionalProperties: false, description: 'Server mode: publish a request and check its answer.' });
export type SendStep = Static<typeof SendStep>;

export const PaginateStep = Type.Object({
  paginate: Type.Object({
    first: MessageSpec,
    reference: MessageSpec,
    items: Type.String({ pattern: '^/', description: 'JSON pointer of the item list in a page.' }),
    key: Type.String({ minLength: 1, description: 'The item field that identifies it.' }),
    min_items: Type.Optional(Type.Integer({ minimum: 1, description: 'Skip the case when the reference holds fewer items.' })),
    add_post_between_pages: Type.Optional(Type.Boolean({ description: 'Create a post through REST after the first page (needs feature rest).' })),
  }, { additionalProperties: false }),
  ...Common,
}, { additionalProperties: false, description: 'Server mode: walk every page and compare with one reference page.' });
export type PaginateStep = Static<typeof PaginateStep>;

export const CommandStep = Type.Object({
  command: MessageSpec,
  expect_status: Type.Optional(Type.Object({
    current_post_id: Type.Optional(Type.Union([PostId, Type.Null(), Type.Literal('from_command')])),
    status: Type.Optional(ConnectionStatus),
  }, { additionalProperties: false })),
  ...Common,
}, { additionalProperties: false, description: 'Player mode: publish on the command topic, optionally wait for the status that follows.' });
export type CommandStep = Static<typeof CommandStep>;

export const Step = Type.Union([SendStep, PaginateStep, CommandStep]);
export type Step = Static<typeof Step>;

export const CaseSpec = Type.Object({
  name: Name,
  summary: Type.String({ minLength: 1 }),
  features: Type.Optional(Type.Array(Feature)),
  steps: Type.Array(Step, { minItems: 1 }),
  cleanup: Type.Optional(Type.Array(Step, { description: 'Run after the steps, pass or fail; mismatches here fail the case too.' })),
}, { additionalProperties: false });
export type CaseSpec = Static<typeof CaseSpec>;

/** A change to a case derived from a spec example (the exceptions to "expectations come from the spec"). */
export const ExceptionSpec = Type.Object({
  example: ExampleRef,
  reason: Type.String({ minLength: 1 }),
  replaced_by: Type.Optional(Type.String({ pattern: '^(server|player)(/[a-z0-9_]+)+$', description: 'Not derived; this case covers it.' })),
  deliver_as: Type.Optional(Type.Literal('last_will', { description: 'Deliver the status example as the MQTT last will of a dropped connection.' })),
  features: Type.Optional(Type.Array(Feature, { description: 'Extra features the derived case needs.' })),
}, { additionalProperties: false });
export type ExceptionSpec = Static<typeof ExceptionSpec>;

export const CaseFile = Type.Object({
  suite: Type.String({ pattern: '^(server|player)(/[a-z0-9_]+)+$', description: 'Prefix of the full case names.' }),
  mode: Type.Union([Type.Literal('server'), Type.Literal('player')]),
  summary: Type.Optional(Type.String()),
  cases: Type.Optional(Type.Array(CaseSpec)),
  exceptions: Type.Optional(Type.Array(ExceptionSpec)),
}, { additionalProperties: false });
export type CaseFile = Static<typeof CaseFile>;
