// A streamed answer (text/event-stream) holds its concurrency slot until its stream ends, fails or is cancelled, or
// has gone `streamIdleMs` without a chunk; any other answer frees its slot with its headers. On the fake clock.
import { describe, expect, it } from 'vitest';
import { advance, flush, ok, rig, T0, track } from './support/harness.js';

/** A server-sent-events answer whose chunks the test writes. */
function eventStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  const response = new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
  return {
    response,
    send: (text: string) => {
      controller.enqueue(new TextEncoder().encode(text));
    },
    end: () => {
      controller.close();
    },
    fail: () => {
      controller.error(new Error('connection reset'));
    },
  };
}

function setup(listen = false) {
  const streams: ReturnType<typeof eventStream>[] = [];
  const r = rig({ budgets: { '*': { concurrency: 1 } }, streamIdleMs: 5_000 }, (call) => {
    if (new URL(call.url).pathname !== '/stream') return ok();
    const stream = eventStream();
    streams.push(stream);
    return stream.response;
  });
  if (listen) r.rw.on('attempt', () => undefined);
  return { ...r, streams };
}

describe('a streamed answer holds its slot', () => {
  it.each([false, true])('until its stream ends, then the next call goes (attempt listener: %s)', async (listen) => {
    const { rw, clock, server, streams } = setup(listen);
    const response = await rw.fetch('https://llm.test/stream');
    const next = track(rw.fetch('https://llm.test/next'), clock);
    await flush();
    expect(next.state).toBe('pending');
    expect(rw.stats()[0]).toMatchObject({ inFlight: 1, queued: 1 });
    streams[0]!.send('data: {"delta":"hi"}\n\n');
    streams[0]!.end();
    expect(await response.text()).toBe('data: {"delta":"hi"}\n\n');
    await flush();
    expect(next.state).toBe('fulfilled');
    expect(server.calls.map((c) => new URL(c.url).pathname)).toEqual(['/stream', '/next']);
  });

  it('until the caller cancels it', async () => {
    const { rw, clock, streams } = setup();
    const response = await rw.fetch('https://llm.test/stream');
    const next = track(rw.fetch('https://llm.test/next'), clock);
    streams[0]!.send('data: 1\n\n');
    const reader = response.body!.getReader();
    await reader.read();
    await flush();
    expect(next.state).toBe('pending');
    await reader.cancel();
    await flush();
    expect(next.state).toBe('fulfilled');
  });

  it('until it fails', async () => {
    const { rw, clock, streams } = setup();
    const response = await rw.fetch('https://llm.test/stream');
    const next = track(rw.fetch('https://llm.test/next'), clock);
    streams[0]!.fail();
    await expect(response.text()).rejects.toThrow('connection reset');
    await flush();
    expect(next.state).toBe('fulfilled');
  });

  it('until it has gone streamIdleMs without a chunk, each chunk starting the wait again', async () => {
    const { rw, clock, server, streams } = setup();
    const response = await rw.fetch('https://llm.test/stream');
    const reader = response.body!.getReader();
    const next = track(rw.fetch('https://llm.test/next'), clock);
    await advance(clock, 4_000);
    streams[0]!.send('data: 1\n\n');
    await reader.read();
    await advance(clock, 4_999);
    expect(next.state).toBe('pending');
    await advance(clock, 1);
    expect(next.state).toBe('fulfilled');
    expect(server.calls.at(-1)!.at - T0).toBe(9_000);
    // The stream itself still works after its slot went back; the end releases nothing twice.
    streams[0]!.send('data: 2\n\n');
    streams[0]!.end();
    expect((await reader.read()).done).toBe(false);
    expect((await reader.read()).done).toBe(true);
    await flush();
    expect(rw.stats()[0]).toMatchObject({ inFlight: 0 });
    expect(clock.pending()).toBe(0);
  });

  it('keeps url, status and headers; an answer that does not stream frees its slot with its headers', async () => {
    const { rw, clock } = setup();
    const response = await rw.fetch('https://llm.test/stream');
    expect(response.url).toBe('');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    await response.body!.cancel();
    const plain = await rw.fetch('https://llm.test/plain');
    const next = track(rw.fetch('https://llm.test/next'), clock);
    await flush();
    expect(plain.status).toBe(200);
    expect(next.state).toBe('fulfilled');
  });
});

describe('a streamed answer cancelled while a read is pending', () => {
  it('frees its slot once, and nothing is left unhandled', async () => {
    const { rw, clock, streams } = setup();
    const response = await rw.fetch('https://llm.test/stream');
    const reader = response.body!.getReader();
    const pending = reader.read();
    await flush();
    expect(rw.stats()[0]).toMatchObject({ inFlight: 1 });
    await reader.cancel('enough');
    expect((await pending).done).toBe(true);
    // The server's side of the stream was cancelled with it.
    expect(() => {
      streams[0]!.send('data: late\n\n');
    }).toThrow(TypeError);
    await flush();
    expect(rw.stats()[0]).toMatchObject({ inFlight: 0 });
    expect(clock.pending()).toBe(0);
  });
});

describe('close() while a stream holds its slot', () => {
  it('resolves, the stream still reads to its end, and nothing is left behind', async () => {
    const { rw, clock, streams } = setup();
    const response = await rw.fetch('https://llm.test/stream');
    const closed = track(rw.close(), clock);
    await flush();
    expect(closed.state).toBe('fulfilled');
    streams[0]!.send('data: after close\n\n');
    streams[0]!.end();
    expect(await response.text()).toBe('data: after close\n\n');
    await flush();
    expect(clock.pending()).toBe(0);
  });
});
