// A store for the engine tests: records every call and answers it when the test says (or at once, from a script),
// so that each state of the link (asking, granted, refused, failed, timed out) can be reached on the fake clock.
import { customStore } from '../../../src/store/custom.js';
import type {
  RatewiseStore,
  StorePauseNotice,
  StoreReply,
  StoreRequest,
  StoreWatch,
} from '../../../src/store/types.js';

export interface StoreCall {
  readonly key: string;
  readonly request: StoreRequest;
  /** Fake-clock instant of the call. */
  readonly at: number;
  readonly settled: boolean;
  answer(reply?: Partial<StoreReply>): void;
  fail(error: unknown): void;
}

/** A reply: granted what was asked, now, with no pause. */
export function grant(request: StoreRequest, reply: Partial<StoreReply> = {}): StoreReply {
  return { granted: request.want, waitMs: 0, reason: undefined, pausedForMs: 0, orderedForMs: 0, counter: 0, ...reply };
}

export class ScriptedStore implements RatewiseStore {
  readonly name = 'scripted';
  readonly calls: StoreCall[] = [];

  constructor(
    private readonly now: () => number,
    /** How to answer each call at once; `'hold'` leaves it to the test. */
    public script: (request: StoreRequest) => Partial<StoreReply> | Error | 'hold' = () => ({}),
  ) {
    // A store of the application's own, as a user makes one usable.
    customStore(this);
  }

  sync(key: string, request: StoreRequest): Promise<StoreReply> {
    return new Promise<StoreReply>((resolve, reject) => {
      let settled = false;
      const call: StoreCall = {
        key,
        request,
        at: this.now(),
        get settled() {
          return settled;
        },
        answer(reply = {}) {
          if (settled) throw new Error('answered twice');
          settled = true;
          resolve(grant(request, reply));
        },
        fail(error) {
          if (settled) throw new Error('answered twice');
          settled = true;
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- whatever the test fails with
          reject(error);
        },
      };
      this.calls.push(call);
      const scripted = this.script(request);
      if (scripted instanceof Error) call.fail(scripted);
      else if (scripted !== 'hold') call.answer(scripted);
    });
  }

  /** Calls not yet answered. */
  held(): StoreCall[] {
    return this.calls.filter((c) => !c.settled);
  }
}

/** A scripted store that pushes pauses (`watch`) when the test says, live or not as the test sets it. */
export class WatchingStore extends ScriptedStore {
  /** Whether pushes arrive: the subscriber connection up. */
  live = true;
  readonly #watches = new Map<string, Set<(pause: StorePauseNotice) => void>>();

  watch(key: string, onPause: (pause: StorePauseNotice) => void): StoreWatch {
    let set = this.#watches.get(key);
    if (set === undefined) this.#watches.set(key, (set = new Set()));
    set.add(onPause);
    const watches = set;
    const live = (): boolean => this.live;
    let closed = false;
    return {
      get live() {
        return !closed && live();
      },
      close() {
        closed = true;
        watches.delete(onPause);
      },
    };
  }

  /** Watches open on `key`. */
  watching(key: string): number {
    return this.#watches.get(key)?.size ?? 0;
  }

  /** Pushes a pause on `key` to its watches. */
  push(key: string, pause: StorePauseNotice): void {
    for (const onPause of this.#watches.get(key) ?? []) onPause(pause);
  }
}
