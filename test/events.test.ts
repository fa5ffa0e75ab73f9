import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { Emitter, type RatewiseEvents } from '../src/events.js';

interface TestEvents {
  ping: { readonly n: number };
  pong: { readonly text: string };
}

const paused: RatewiseEvents['paused'] = { key: 'api.example.com', until: 5000, reason: 'retry-after', status: 429 };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Emitter', () => {
  it('calls the listeners of an event, in registration order, synchronously', () => {
    const emitter = new Emitter<TestEvents>();
    const calls: string[] = [];
    emitter.on('ping', ({ n }) => calls.push(`first ${n}`));
    emitter.on('ping', ({ n }) => calls.push(`second ${n}`));
    emitter.on('pong', ({ text }) => calls.push(`pong ${text}`));
    emitter.emit('ping', { n: 1 });
    expect(calls).toEqual(['first 1', 'second 1']);
  });

  it('stops calling a listener once its disposer ran; a second call is harmless', () => {
    const emitter = new Emitter<TestEvents>();
    const listener = vi.fn();
    const off = emitter.on('ping', listener);
    emitter.emit('ping', { n: 1 });
    off();
    off();
    emitter.emit('ping', { n: 2 });
    expect(listener).toHaveBeenCalledTimes(1);
    expect(emitter.hasListeners('ping')).toBe(false);
  });

  it('treats the same function registered twice as two registrations, each with its own disposer', () => {
    const emitter = new Emitter<TestEvents>();
    const listener = vi.fn();
    const offFirst = emitter.on('ping', listener);
    emitter.on('ping', listener);
    offFirst();
    offFirst();
    emitter.emit('ping', { n: 1 });
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('keeps the caller and the other listeners safe from a listener that throws, and reports it', () => {
    const errors: unknown[] = [];
    const emitter = new Emitter<TestEvents>((error, name) => errors.push([name, error]));
    const after = vi.fn();
    const boom = new Error('listener bug');
    emitter.on('ping', () => {
      throw boom;
    });
    emitter.on('ping', after);
    expect(() => {
      emitter.emit('ping', { n: 1 });
    }).not.toThrow();
    expect(after).toHaveBeenCalledWith({ n: 1 });
    expect(errors).toEqual([['ping', boom]]);
  });

  it('reports a throwing listener with console.error by default', () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const emitter = new Emitter<TestEvents>();
    const boom = new Error('listener bug');
    emitter.on('pong', () => {
      throw boom;
    });
    emitter.emit('pong', { text: 'x' });
    expect(consoleError).toHaveBeenCalledWith('ratewise: a "pong" listener threw', boom);
  });

  it('survives an error reporter that throws too', () => {
    const emitter = new Emitter<TestEvents>(() => {
      throw new Error('reporter bug');
    });
    const after = vi.fn();
    emitter.on('ping', () => {
      throw new Error('listener bug');
    });
    emitter.on('ping', after);
    expect(() => {
      emitter.emit('ping', { n: 1 });
    }).not.toThrow();
    expect(after).toHaveBeenCalledOnce();
  });

  it('applies listeners added or removed during an emit from the next emit', () => {
    const emitter = new Emitter<TestEvents>();
    const calls: string[] = [];
    const late = (): void => {
      calls.push('late');
    };
    let offSecond = (): void => undefined;
    emitter.on('ping', () => {
      calls.push('first');
      offSecond();
      emitter.on('ping', late);
    });
    offSecond = emitter.on('ping', () => calls.push('second'));
    emitter.emit('ping', { n: 1 });
    expect(calls).toEqual(['first', 'second']);
    calls.length = 0;
    emitter.emit('ping', { n: 2 });
    expect(calls).toEqual(['first', 'late']);
  });

  it('tells whether an event has listeners, so callers can skip building payloads', () => {
    const emitter = new Emitter<TestEvents>();
    expect(emitter.hasListeners('ping')).toBe(false);
    const off = emitter.on('ping', () => undefined);
    expect(emitter.hasListeners('ping')).toBe(true);
    expect(emitter.hasListeners('pong')).toBe(false);
    off();
    expect(emitter.hasListeners('ping')).toBe(false);
  });

  it('publishes on its channel after the listeners, while it has subscribers, who count as listeners', () => {
    const order: string[] = [];
    const published: unknown[] = [];
    /** One channel per name, subscribed to by nobody until the test says. */
    const channels = new Map<string, { hasSubscribers: boolean; publish(message: unknown): void }>();
    const asked: string[] = [];
    const emitter = new Emitter<TestEvents>(undefined, (name) => {
      asked.push(name);
      const channel = {
        hasSubscribers: false,
        publish(message: unknown) {
          order.push(`channel ${name}`);
          published.push(message);
        },
      };
      channels.set(name, channel);
      return channel;
    });
    emitter.on('ping', () => order.push('listener'));
    emitter.emit('ping', { n: 1 });
    expect(emitter.hasListeners('pong')).toBe(false);
    expect(published).toEqual([]);

    channels.get('ping')!.hasSubscribers = true;
    const event = { n: 2 };
    emitter.emit('ping', event);
    expect(order).toEqual(['listener', 'listener', 'channel ping']);
    expect(published[0]).toBe(event);
    emitter.clear();
    expect(emitter.hasListeners('ping')).toBe(true);
    emitter.emit('ping', { n: 3 });
    expect(published).toHaveLength(2);
    expect(emitter.hasListeners('pong')).toBe(false);
    // Each name's channel is asked for once.
    expect(asked).toEqual(['ping', 'pong']);
  });

  it('emits to nobody without error', () => {
    expect(() => {
      new Emitter<TestEvents>().emit('ping', { n: 1 });
    }).not.toThrow();
  });

  it('clears every listener; disposers called afterwards do nothing', () => {
    const emitter = new Emitter<TestEvents>();
    const listener = vi.fn();
    const off = emitter.on('ping', listener);
    emitter.on('pong', listener);
    emitter.clear();
    off();
    const kept = vi.fn();
    emitter.on('ping', kept);
    off();
    emitter.emit('ping', { n: 1 });
    emitter.emit('pong', { text: 'x' });
    expect(listener).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledOnce();
  });

  it('types listeners and payloads by event name', () => {
    const emitter = new Emitter<RatewiseEvents>();
    emitter.on('paused', (event) => {
      expectTypeOf(event.reason).toEqualTypeOf<'retry-after' | 'remaining-zero' | 'backoff' | 'shared'>();
      expectTypeOf(event.status).toEqualTypeOf<number | undefined>();
    });
    emitter.on('giveUp', (event) => {
      expectTypeOf(event.reason).toExtend<string>();
    });
    emitter.emit('paused', paused);
    // @ts-expect-error: a payload of another event
    emitter.emit('paused', { key: 'k', url: 'u', status: 200, info: { isRateLimited: false, policies: [] } });
    // @ts-expect-error: an unknown event
    emitter.on('nope', () => undefined);
    // @ts-expect-error: payloads are read-only
    paused.until = 0;
    expect(emitter.hasListeners('paused')).toBe(true);
  });
});
