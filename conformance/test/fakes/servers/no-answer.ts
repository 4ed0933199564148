// Never answers get_comments.
import type { BrokenServer } from './broken-server.js';

export const noAnswer: BrokenServer = {
  family: 'no answer',
  behaviour: { ignore: ['get_comments'] },
  caughtBy: ['server/mqtt/get_comments/threaded_page'],
  pointer: '',
};
