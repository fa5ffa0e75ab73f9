// A streamed answer (`text/event-stream`) that holds its request's slot while it runs: its body is passed through
// unchanged, and `release` is called once, when the stream ends, fails (read or not; the call's signal aborting the
// fetch fails it too) or is cancelled, or after `idleMs` without a chunk; with the stream's whole text when it ended
// and `collect` was asked for (at most `MAX_COLLECTED` bytes).
import type { Clock, TimerHandle } from '../clock.js';

/** Whether an answer streams events (an LLM API's streamed completion, any server-sent events). */
export function isEventStream(response: Response): boolean {
  // An answer without a body streams nothing: its fields are not looked up (a lookup costs more than the check).
  if (response.body === null) return false;
  const type = response.headers.get('content-type');
  return type !== null && /^\s*text\/event-stream\b/i.test(type);
}

/** Most of a stream's text kept for a `usage` hook: past it, the hook sees none. */
export const MAX_COLLECTED = 1_048_576;

/** `response` with a body that calls `release` once its stream is over (see the module's comment). */
export function holdWhileStreaming(
  response: Response,
  release: (bodyText: string | undefined) => void,
  idleMs: number,
  clock: Clock,
  collect = false,
): Response {
  const reader = response.body!.getReader();
  const decoder = collect ? new TextDecoder() : undefined;
  let text: string | undefined = collect ? '' : undefined;
  let bytes = 0;
  let timer: TimerHandle | undefined;
  let over = false;
  const end = (whole = false): void => {
    if (over) return;
    over = true;
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    release(whole && text !== undefined ? text + decoder!.decode() : undefined);
  };
  const quiet = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = clock.setTimeout(end, idleMs);
  };
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        // Cancelled while this read was pending: the stream is closed already.
        if (cancelled) return;
        if (done) {
          end(true);
          controller.close();
          return;
        }
        if (!over) quiet();
        if (text !== undefined) {
          bytes += value.byteLength;
          text = bytes > MAX_COLLECTED ? undefined : text + decoder!.decode(value, { stream: true });
        }
        controller.enqueue(value);
      } catch (error) {
        end();
        if (!cancelled) controller.error(error);
      }
    },
    cancel(reason) {
      cancelled = true;
      end();
      return reader.cancel(reason);
    },
  });
  quiet();
  // A stream that fails while nobody reads it (the server resets it, the caller's signal aborts the fetch, which fails
  // its body): the reader's `closed` says so without a read, where only a pending read would have noticed.
  reader.closed.catch(() => {
    end();
  });
  const held = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // What fetch set and `new Response` cannot: where the answer came from.
  for (const name of ['url', 'redirected', 'type'] as const) {
    Object.defineProperty(held, name, { value: response[name], enumerable: true });
  }
  return held;
}
