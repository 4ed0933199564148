// Publishes its first request before subscribing to its response topic (300 ms later).
import type { BrokenPlayer } from './broken-player.js';

export const lateSubscriber: BrokenPlayer = { family: 'answer lost (late subscription)', flaws: { subscribeFirst: false }, caughtBy: ['player/request/subscribed_before_request'], pointer: '' };
