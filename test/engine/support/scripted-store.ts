// A store for the engine tests: records every call and answers it when the test says (or at once, from a script),
// so that each state of the link (asking, granted, refused, failed, timed out) can be reached on the fake clock.
import type { RatewiseStore, StoreReply, StoreRequest } from '../../../src/store/types.js';

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
  ) {}

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
