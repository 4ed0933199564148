// Label values of the server's metrics, each from a closed list (bounded cardinality): request types
// from the spec's request operations, outcomes from its ErrorCode enum, REST routes as the spec's
// path templates. Anything else becomes `unknown` / `other` / `unmatched`, never a raw value, so no
// player_key, user id or URL can reach a label.
import { METHODS } from 'node:http';
import { requestOperations } from '@makapix/contract/asyncapi/operations';
import { channels } from '@makapix/contract/asyncapi/channels';
import { ErrorCodeValues } from '@makapix/contract/components/errors';
import { routes } from '@makapix/contract/openapi/routes';
import type { InboundErrorReason } from '../../../codegen/runtime/index.js';

export const REQUEST_TYPES: readonly string[] = Object.keys(requestOperations);
const requestTypes = new Set(REQUEST_TYPES);

/** The request type as a label: one of the spec's, else `unknown` (not yet known, or not a request type). */
export function requestTypeLabel(requestType: string | undefined): string {
  return requestType !== undefined && requestTypes.has(requestType) ? requestType : 'unknown';
}

export const ERROR_CODES: readonly string[] = ErrorCodeValues;
export const OUTCOMES: readonly string[] = ['success', ...ERROR_CODES];
const outcomes = new Set(OUTCOMES);

/** `success` or an ErrorCode, else `other`. */
export function outcomeLabel(outcome: string): string {
  return outcomes.has(outcome) ? outcome : 'other';
}

/** Why an inbound MQTT message was not handled: the router's reasons, a status whose payload key is not the topic's, an answer that could not be published. */
export type DropReason = InboundErrorReason | 'key_mismatch' | 'publish_failed';
export const DROP_REASONS: readonly DropReason[] = ['topic', 'json', 'schema', 'too_large', 'handler', 'key_mismatch', 'publish_failed'];
const dropReasons = new Set<string>(DROP_REASONS);

export function dropReasonLabel(reason: string): string {
  return dropReasons.has(reason) ? reason : 'other';
}

/** What a player reports on its own topics (protocol 1.1): views, capabilities, state, command acks. */
export const PLAYER_REPORT_KINDS = ['view', 'capabilities', 'state', 'command_ack'] as const;
export type PlayerReportKind = (typeof PLAYER_REPORT_KINDS)[number];
/** What became of a report: stored or recorded, ignored (nothing to change), refused (an error code), dropped (a reason). */
export const PLAYER_REPORT_OUTCOMES: readonly string[] = [
  'received', 'recorded', 'stored', 'ignored', 'unknown_command', 'write_failed', 'internal_error',
  ...DROP_REASONS.map((r) => `dropped_${r}`), ...ERROR_CODES,
];
const playerReportOutcomes = new Set(PLAYER_REPORT_OUTCOMES);

export function playerReportOutcomeLabel(outcome: string): string {
  return playerReportOutcomes.has(outcome) ? outcome : 'other';
}

/** The notification channels of the outbox (the AsyncAPI channel ids). */
export const NOTIFICATION_CHANNELS = [channels.postNew.id, channels.postNewForFollower.id, channels.postNewInCategory.id] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

const routeByOperation = new Map<string, string>(Object.values(routes).map((r) => [r.operationId, r.url]));

/**
 * The REST route as a label: the spec's path template of the operation that served the request,
 * `unmatched` when no route matched (404 of the router). A route that is not a spec operation (none
 * today) is named by its registered template, `:param` written `{param}`.
 */
export function routeLabel(operationId: string | undefined, routeUrl: string | undefined): string {
  if (operationId !== undefined) {
    const url = routeByOperation.get(operationId);
    if (url !== undefined) return url;
  }
  if (routeUrl === undefined) return 'unmatched';
  return routeUrl.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const methods = new Set(METHODS);

/** The HTTP method (Node's parser only accepts known ones; anything else would be `other`). */
export function methodLabel(method: string): string {
  return methods.has(method) ? method : 'other';
}
