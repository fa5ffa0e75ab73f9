// Figures read from a server's request log (TestServer.requests()), all on the server's own clock.
import type { RecordedRequest } from './servers.js';

/** Whether the server refused the request: any answer of 400 or more (the test servers only refuse to throttle). */
export function isRefused(request: RecordedRequest): boolean {
  return request.status !== undefined && request.status >= 400;
}

/** When the server wrote its first answer (epoch ms); `Infinity` if it answered nothing. */
export function firstAnsweredAt(log: readonly RecordedRequest[]): number {
  let first = Infinity;
  for (const { answeredAt } of log) if (answeredAt !== undefined && answeredAt < first) first = answeredAt;
  return first;
}

/**
 * The refused requests that arrived after the server's first answer: the ones a client that reads answers could
 * have held back. Requests arriving in the same millisecond as that answer do not count.
 */
export function refusedAfterFirstAnswer(log: readonly RecordedRequest[]): RecordedRequest[] {
  const first = firstAnsweredAt(log);
  return log.filter((request) => request.receivedAt > first && isRefused(request));
}
