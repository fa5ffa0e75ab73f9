// A priority queue of waiters: highest priority first, FIFO within a priority, O(1) push, shift and removal.
// Removal is lazy: a removed entry stays in its deque, marked, and is skipped when it reaches the front.

/** What the queue needs of an entry. */
export interface QueueEntry {
  readonly priority: number;
  /** Set once the entry left the queue (granted, rejected or aborted). */
  done: boolean;
}

class Deque<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  unshift(item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item;
    else this.#items.unshift(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Takes out, in order, the items `pick` chooses; the others keep their order. O(length). */
  extract(pick: (item: T) => boolean): T[] {
    const picked: T[] = [];
    const kept: (T | undefined)[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (pick(item)) picked.push(item);
      else kept.push(item);
    }
    if (picked.length > 0) {
      this.#items = kept;
      this.#head = 0;
    }
    return picked;
  }

  shift(): T | undefined {
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    // Reclaim the consumed prefix now and then, so a long-lived queue does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    } else if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    }
    return item;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i]!;
  }
}

export class PriorityQueue<T extends QueueEntry> {
  /** Live entries. */
  size = 0;
  readonly #levels = new Map<number, Deque<T>>();
  /** Priorities present, highest first, and their deques in the same order (no lookup on the hot path). */
  #order: number[] = [];
  #deques: Deque<T>[] = [];
  /** The deque `peek` found its entry in, until the order changes. */
  #front: Deque<T> | undefined;

  #level(priority: number): Deque<T> {
    // One priority is the usual case: its deque without a lookup.
    if (this.#order.length === 1 && this.#order[0] === priority) return this.#deques[0]!;
    let deque = this.#levels.get(priority);
    if (!deque) {
      deque = new Deque<T>();
      this.#levels.set(priority, deque);
      this.#order.push(priority);
      this.#order.sort((a, b) => b - a);
      this.#deques = this.#order.map((p) => this.#levels.get(p)!);
    }
    return deque;
  }

  /** Adds at the back of its priority, or at the front (a retried request goes back to the head of its line). */
  add(entry: T, front = false): void {
    const level = this.#level(entry.priority);
    if (front) level.unshift(entry);
    else level.push(entry);
    this.size++;
  }

  /** The next live entry, without removing it. */
  peek(): T | undefined {
    const order = this.#order;
    const deques = this.#deques;
    for (let i = 0; i < order.length; i++) {
      const level = deques[i]!;
      let head = level.peek();
      while (head?.done) {
        level.shift();
        head = level.peek();
      }
      if (head) {
        this.#front = level;
        return head;
      }
      // An empty level is dropped, so that `peek` stays O(1) however many priorities were ever used.
      this.#levels.delete(order[i]!);
      order.splice(i, 1);
      deques.splice(i--, 1);
    }
    return undefined;
  }

  /** Removes and returns the next live entry, marking it done. */
  shift(): T | undefined {
    const head = this.peek();
    if (!head) return undefined;
    this.#front!.shift();
    head.done = true;
    this.size--;
    return head;
  }

  /** Marks a queued entry removed. */
  remove(entry: T): void {
    if (entry.done) return;
    entry.done = true;
    this.size--;
  }

  /**
   * Takes out the live entries `pick` chooses, in the order they would be served, leaving them not done: unlike a
   * removal (which only marks an entry), nothing of them stays behind, so that they may join another queue.
   */
  extract(pick: (entry: T) => boolean): T[] {
    const picked: T[] = [];
    for (const priority of this.#order) {
      const level = this.#levels.get(priority);
      if (level) picked.push(...level.extract((entry) => !entry.done && pick(entry)));
    }
    this.size -= picked.length;
    return picked;
  }

  /** The live entries in the order they would be served: highest priority first, FIFO within one. */
  *inOrder(): IterableIterator<T> {
    for (const priority of this.#order) {
      const level = this.#levels.get(priority);
      if (level) for (const entry of level) if (!entry.done) yield entry;
    }
  }

  /** The live entries, in no particular order. */
  *entries(): IterableIterator<T> {
    for (const level of this.#levels.values()) for (const entry of level) if (!entry.done) yield entry;
  }
}
