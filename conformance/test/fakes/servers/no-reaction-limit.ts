// Accepts any number of different reactions.
import type { BrokenServer } from './broken-server.js';

export const noReactionLimit: BrokenServer = {
  family: 'missing rule',
  behaviour: { reactionLimit: Infinity },
  caughtBy: ['server/mqtt/flows/sixth_reaction_refused'],
  pointer: '/success',
};
