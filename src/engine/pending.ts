// The calls a client has not settled yet (requests and tasks), for `close()`.

/**
 * A count of calls not yet settled, with what to do when it reaches zero. A class rather than closures over the
 * client: the hot paths call its methods, which are the same function for every client, so their optimised code
 * holds nothing of one client and stays valid when that client is collected.
 */
export class PendingCalls {
  count = 0;
  /** Called each time the count comes down to zero (set by `close()`). */
  idle: (() => void) | undefined = undefined;

  add(): void {
    this.count++;
  }

  settled(): void {
    if (--this.count === 0 && this.idle !== undefined) this.idle();
  }
}
