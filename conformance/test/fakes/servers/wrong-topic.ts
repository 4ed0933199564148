// Answers on `makapix/player/{key}/response` (no request_id level) instead of `.../response/{request_id}`.
import { playerResponseTopic } from '@makapix/contract/asyncapi/channels';
import type { BrokenServer } from './broken-server.js';

export const wrongTopic: BrokenServer = {
  family: 'wrong topic',
  behaviour: { responseTopic: (p) => playerResponseTopic.filterRest({ player_key: p.player_key }).replace(/\/#$/, '') },
  caughtBy: ['server/mqtt/query_posts/all_default'],
  pointer: '',
};
