export { handleGetComments } from './get-comments.js';
export { handleQueryPosts } from './query-posts.js';
export { handleRevokeReaction } from './revoke-reaction.js';
export { handleSubmitReaction } from './submit-reaction.js';
export { handleSubmitView } from './submit-view.js';
export { handleGetPost } from './get-post.js';
