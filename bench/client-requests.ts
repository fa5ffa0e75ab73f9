// What the client side sent and heard, whatever the HTTP client: undici (Node's fetch, the undici package, ky) and
// node:http (axios, got) publish each request and each response head on diagnostics channels.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/** Requests this process sent while watched, and the refusals among those sent once it had heard an answer. */
export interface ClientRequestWatch {
  /** Refused requests (status ≥ 400) sent after this process received its first response head. */
  refusedAfterFirstAnswer(): number;
  /** Stops watching. */
  stop(): void;
}

interface RequestMessage {
  readonly request: object;
}
interface UndiciHeadersMessage extends RequestMessage {
  readonly response: { readonly statusCode: number };
}
interface HttpResponseMessage extends RequestMessage {
  readonly response: { readonly statusCode?: number };
}

/**
 * Watches every HTTP request of this process from now on. A request counts as sent when its client creates it:
 * an undici request when it is dispatched, a node:http `ClientRequest` when it is made, which for ratewise is
 * when its pacing lets the attempt go.
 */
export function watchClientRequests(): ClientRequestWatch {
  const sentAt = new WeakMap<object, number>();
  let firstAnswerAt = Infinity;
  let refusedAfter = 0;
  const sent = (message: unknown): void => {
    sentAt.set((message as RequestMessage).request, performance.now());
  };
  const answered = (request: object, status: number | undefined): void => {
    const at = performance.now();
    const since = sentAt.get(request);
    if (since !== undefined && since > firstAnswerAt && status !== undefined && status >= 400) refusedAfter++;
    if (at < firstAnswerAt) firstAnswerAt = at;
  };
  const undiciHead = (message: unknown): void => {
    const { request, response } = message as UndiciHeadersMessage;
    answered(request, response.statusCode);
  };
  const httpHead = (message: unknown): void => {
    const { request, response } = message as HttpResponseMessage;
    answered(request, response.statusCode);
  };
  const subscriptions: [string, (message: unknown) => void][] = [
    ['undici:request:create', sent],
    ['undici:request:headers', undiciHead],
    ['http.client.request.start', sent],
    ['http.client.response.finish', httpHead],
  ];
  for (const [name, listener] of subscriptions) subscribe(name, listener);
  return {
    refusedAfterFirstAnswer: () => refusedAfter,
    stop: () => {
      for (const [name, listener] of subscriptions) unsubscribe(name, listener);
    },
  };
}
