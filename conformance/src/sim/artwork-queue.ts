// What the simulated player shows: the post ids it fetched with query_posts, a position in them,
// and the current post (which a show_artwork command may set to a post outside the list).
import type { PostId } from '@makapix/contract/components/identifiers';

export class ArtworkQueue {
  private ids: PostId[] = [];
  private index = -1;
  private current: PostId | null = null;

  /** The post shown now, or null. */
  get currentPostId(): PostId | null {
    return this.current;
  }

  /** The fetched post ids, in order (a copy). */
  get postIds(): PostId[] {
    return [...this.ids];
  }

  /** Replaces the list (e.g. with a query_posts page); keeps the current post and, when it is in the list, its position. */
  replace(ids: readonly PostId[]): void {
    this.ids = [...ids];
    this.index = this.current === null ? -1 : this.ids.indexOf(this.current);
  }

  /** show_artwork: the post becomes current; the position follows it when the post is in the list. */
  show(postId: PostId): void {
    this.current = postId;
    const at = this.ids.indexOf(postId);
    if (at >= 0) this.index = at;
  }

  /** swap_next: the next post of the list (wrapping); from no position, the first. False when the list is empty. */
  next(): boolean {
    return this.move(1);
  }

  /** swap_back: the previous post of the list (wrapping); from no position, the last. False when the list is empty. */
  back(): boolean {
    return this.move(-1);
  }

  private move(step: 1 | -1): boolean {
    const n = this.ids.length;
    if (n === 0) return false;
    this.index = this.index < 0 ? (step === 1 ? 0 : n - 1) : (this.index + step + n) % n;
    this.current = this.ids[this.index];
    return true;
  }
}
