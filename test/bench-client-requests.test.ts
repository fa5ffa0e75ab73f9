// The bench's client-side count of refusals sent after the first answer, through undici (fetch) and node:http (axios).
import axios from 'axios';
import { expect, test } from 'vitest';
import { watchClientRequests } from '../bench/client-requests.js';
import { sequence, startScriptedServer } from './support/servers.js';

test('counts the refused requests sent once a first answer had arrived, through fetch and node:http', async () => {
  const server = await startScriptedServer(
    sequence({ status: 429 }, { status: 429 }, { status: 503 }, { status: 200 }, { status: 429 }),
  );
  const watch = watchClientRequests();
  try {
    const statuses: number[] = [];
    for (const send of [
      () => fetch(server.url).then(async (response) => (await response.arrayBuffer(), response.status)),
      () => fetch(server.url).then(async (response) => (await response.arrayBuffer(), response.status)),
      () => axios.get(server.url, { validateStatus: () => true }).then((response) => response.status),
      () => fetch(server.url).then(async (response) => (await response.arrayBuffer(), response.status)),
    ]) {
      statuses.push(await send());
    }
    expect(statuses).toEqual([429, 429, 503, 200]);
    // The first 429 was sent before any answer; the second and the 503 after it; the 200 is no refusal.
    expect(watch.refusedAfterFirstAnswer()).toBe(2);
    watch.stop();
    // Not watched any more.
    await (await fetch(server.url)).arrayBuffer();
    expect(watch.refusedAfterFirstAnswer()).toBe(2);
  } finally {
    watch.stop();
    await server.close();
  }
});
