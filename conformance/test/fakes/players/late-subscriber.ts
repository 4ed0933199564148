// Publishes its first request without a subscription to its response topic (it does not subscribe
// later either: a subscription after a delay would race the suite's answer).
import type { BrokenPlayer } from './broken-player.js';

export const lateSubscriber: BrokenPlayer = { family: 'answer lost (late subscription)', flaws: { subscribeFirst: false }, caughtBy: ['player/request/subscribed_before_request'], pointer: '' };
