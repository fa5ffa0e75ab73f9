// The `attempt` and `settled` events of one call. While someone listens to them, the call's ticket notes when each
// of its waits begins and its transport is wrapped to note each attempt; the engine sends, retries and settles the
// call as it would without them. Otherwise the call goes to `send` as it is.
import { send, type SendContext, type Transport } from '../engine/send.js';
import type { CallRoute } from '../engine/route-shape.js';
import { CallTicket } from '../engine/wait.js';
import { parseRateLimit, type HeaderInput } from '../headers/index.js';

/** What makes a call's ticket, its context aside. */
export type TicketArgs = ConstructorParameters<typeof CallTicket> extends [unknown, ...infer Rest] ? Rest : never;

/** Sends one logical request (see `send`) with a ticket made of `args`, telling its attempts and its end to listeners. */
export function sendCall<R>(
  ctx: SendContext,
  args: TicketArgs,
  transport: Transport<R>,
  /** The call's route on its origin (see `CallTicket.routing`). */
  routing?: CallRoute,
): Promise<R> {
  const { events } = ctx;
  const told = events.hasListeners('attempt') || events.hasListeners('settled');
  const call = told ? new ToldTicket(ctx, ...args) : new CallTicket(ctx, ...args);
  call.routing = routing;
  return call instanceof ToldTicket ? sendTold(ctx, call, transport) : send(ctx, call, transport);
}

/** A ticket that notes when each of the call's waits for a turn begins. */
class ToldTicket extends CallTicket {
  /** Epoch ms the latest wait began. */
  waitingSince: number;
  /** Waits begun: one per attempt sent, and one more while the call waits for its next. */
  waits = 0;
  readonly #now: () => number;

  constructor(ctx: SendContext, ...args: TicketArgs) {
    super(ctx, ...args);
    const { clock } = ctx.options;
    this.#now = () => clock.now();
    this.waitingSince = this.startedAt;
  }

  override acquire(): Promise<number> | number {
    this.waitingSince = this.#now();
    this.waits++;
    return super.acquire();
  }
}

async function sendTold<R>(ctx: SendContext, call: ToldTicket, transport: Transport<R>): Promise<R> {
  const { events } = ctx;
  const { clock } = ctx.options;
  const { request, safeUrl: url, startedAt } = call;
  const { method } = request;
  let waitedMs = 0;
  let attempts = 0;
  let status: number | undefined;
  const safe = (error: unknown): unknown => (transport.safeError ? transport.safeError(error) : error);
  const told: Transport<R> = {
    send: async () => {
      const sentAt = clock.now();
      // The lane it went from: the answer may move the call to its route's quota.
      const { key, config } = call.lane.budget;
      const waited = sentAt - call.waitingSince;
      waitedMs += waited;
      const attempt = ++attempts;
      let response: R | undefined;
      let error: unknown;
      try {
        response = await transport.send();
      } catch (e) {
        error = e;
      }
      const answered = response;
      status = answered === undefined ? undefined : transport.status(answered);
      if (events.hasListeners('attempt')) {
        const durationMs = clock.now() - sentAt;
        const outcome =
          answered === undefined || status === undefined
            ? 'error'
            : outcomeOf(status, () => transport.headers(answered));
        events.emit('attempt', {
          key,
          pattern: config.pattern,
          method,
          url,
          attempt,
          status,
          outcome,
          sentAt,
          waitedMs: waited,
          durationMs,
        });
      }
      if (answered === undefined) throw error;
      return answered;
    },
    status: (response) => transport.status(response),
    headers: (response) => transport.headers(response),
    discard(response) {
      transport.discard(response);
    },
  };
  if (transport.safeError) told.safeError = safe;
  // Throttles told in the body (GitHub's secondary limits, `classify`) are read through the transport's own copy.
  if (transport.bodyText) told.bodyText = transport.bodyText.bind(transport);
  if (transport.holdWhileStreaming) told.holdWhileStreaming = transport.holdWhileStreaming.bind(transport);
  let failure: unknown;
  try {
    return await send(ctx, call, told);
  } catch (error) {
    failure = safe(error);
    throw error;
  } finally {
    if (events.hasListeners('settled')) {
      const now = clock.now();
      // A wait begun and not ended by an attempt: the call ended in it.
      const lastWaitMs = call.waits > attempts ? now - call.waitingSince : 0;
      const { key, config } = call.lane.budget;
      events.emit('settled', {
        key,
        pattern: config.pattern,
        method,
        url,
        attempts,
        status,
        error: failure,
        startedAt,
        durationMs: now - startedAt,
        waitedMs: waitedMs + lastWaitMs,
        lastWaitMs,
      });
    }
  }
}

/** How a response came back, as the `attempt` event says: headers are read only for a status that may be a throttle. */
function outcomeOf(status: number, headers: () => HeaderInput): 'ok' | 'refused' | 'error' {
  if (status < 400) return 'ok';
  if (status === 429) return 'refused';
  if ((status === 403 || status === 503) && parseRateLimit(headers(), { status }).isRateLimited) return 'refused';
  return 'error';
}
