/**
 * A TCP proxy on 127.0.0.1 in front of a local server (the tests' redis-server), to make it look far away or
 * failing: each direction can be delayed, held (stalled) and released, and every connection dropped. It also reads
 * the Redis commands that pass towards the server (RESP arrays), so that a test can see what a client sent and when.
 * Never in front of anything but a loopback port.
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { HOST } from '../../scripts/lib/loopback.js';

/** `up`: from the client to the server; `down`: from the server back to the client. */
export type Direction = 'up' | 'down';

export interface LatencyProxy {
  readonly port: number;
  /** Such as `redis://127.0.0.1:41234`. */
  readonly url: string;
  /**
   * Delays every chunk by `ms` in one direction, or in both when no direction is given (a round trip then takes
   * twice `ms` more). Order within a connection is kept. Applies to chunks that arrive from now on.
   */
  delay(ms: number, direction?: Direction): void;
  /** Holds every chunk in one direction (or both) until {@link resume}: a server that stalls, or a network that does. */
  stall(direction?: Direction): void;
  /** Passes on what was held, in order, and lets traffic flow again (with the delay in force). */
  resume(direction?: Direction): void;
  /** Destroys every open connection (what was held is lost), as a network failure would. New ones are accepted. */
  drop(): void;
  /** Every command sent towards the server so far, name upper-cased first, in order, over every connection. */
  commands(): readonly (readonly string[])[];
  /** Resolves with the first command (past or future) whose name matches `name`. */
  seen(name: RegExp): Promise<readonly string[]>;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

interface Lane {
  delayMs: number;
  stalled: boolean;
}

/** One direction of one connection: chunks in arrival order, each passed on at its due time, unless held. */
class Pipe {
  readonly #queue: { chunk: Buffer; due: number }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly to: Socket,
    private readonly lane: Lane,
  ) {}

  push(chunk: Buffer): void {
    const last = this.#queue.at(-1)?.due ?? 0;
    this.#queue.push({ chunk, due: Math.max(last, Date.now() + this.lane.delayMs) });
    this.pump();
  }

  /** Passes on what is due, and arms one timer for the next chunk. */
  pump(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.lane.stalled) return;
    const now = Date.now();
    while (this.#queue.length > 0 && this.#queue[0]!.due <= now) {
      if (!this.to.destroyed) this.to.write(this.#queue.shift()!.chunk);
      else this.#queue.shift();
    }
    const next = this.#queue[0];
    if (next !== undefined)
      this.#timer = setTimeout(() => {
        this.pump();
      }, next.due - now);
  }

  /** After a stall: what was held is due at once, later chunks keep their order behind it. */
  release(): void {
    const now = Date.now();
    for (const item of this.#queue) item.due = Math.min(item.due, now);
    this.pump();
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }
}

/**
 * Reads RESP arrays of bulk strings (what every Redis client sends) from a byte stream, and calls `onCommand` with
 * each complete one. Anything else (inline commands) is not expected from a client library and ends the reading.
 */
function commandReader(onCommand: (command: string[]) => void): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  let broken = false;
  const line = (from: number): { text: string; next: number } | undefined => {
    const end = buffer.indexOf('\r\n', from, 'latin1');
    return end < 0 ? undefined : { text: buffer.toString('latin1', from, end), next: end + 2 };
  };
  return (chunk) => {
    if (broken) return;
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const head = line(0);
      if (head === undefined) return;
      if (!head.text.startsWith('*')) {
        broken = true;
        return;
      }
      const count = Number(head.text.slice(1));
      const args: string[] = [];
      let at = head.next;
      for (let i = 0; i < count; i++) {
        const size = line(at);
        if (size === undefined) return;
        const length = Number(size.text.slice(1));
        if (buffer.length < size.next + length + 2) return;
        args.push(buffer.toString('utf8', size.next, size.next + length));
        at = size.next + length + 2;
      }
      buffer = buffer.subarray(at);
      onCommand([(args[0] ?? '').toUpperCase(), ...args.slice(1)]);
    }
  };
}

/** Starts a proxy on a free loopback port that passes every connection on to `targetPort` on 127.0.0.1. */
export async function startLatencyProxy(targetPort: number): Promise<LatencyProxy> {
  const lanes: Record<Direction, Lane> = { up: { delayMs: 0, stalled: false }, down: { delayMs: 0, stalled: false } };
  const connections = new Set<{ sockets: Socket[]; pipes: Record<Direction, Pipe> }>();
  const commands: string[][] = [];
  const watchers: { name: RegExp; resolve: (command: readonly string[]) => void }[] = [];

  const server = createServer((client) => {
    const upstream = connect(targetPort, HOST);
    const pipes = { up: new Pipe(upstream, lanes.up), down: new Pipe(client, lanes.down) };
    const connection = { sockets: [client, upstream], pipes };
    connections.add(connection);
    const read = commandReader((command) => {
      commands.push(command);
      for (const watcher of watchers.filter(({ name }) => name.test(command[0]!))) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve(command);
      }
    });
    client.on('data', (chunk: Buffer) => {
      read(chunk);
      pipes.up.push(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      pipes.down.push(chunk);
    });
    const end = (): void => {
      if (!connections.delete(connection)) return;
      pipes.up.stop();
      pipes.down.stop();
      client.destroy();
      upstream.destroy();
    };
    for (const socket of connection.sockets) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  const directions = (direction: Direction | undefined): Direction[] =>
    direction === undefined ? ['up', 'down'] : [direction];
  const dropAll = (): void => {
    for (const { sockets } of connections) for (const socket of sockets) socket.destroy();
  };

  return {
    port,
    url: `redis://${HOST}:${port}`,
    delay(ms, direction) {
      for (const d of directions(direction)) lanes[d].delayMs = ms;
    },
    stall(direction) {
      for (const d of directions(direction)) lanes[d].stalled = true;
    },
    resume(direction) {
      for (const d of directions(direction)) {
        lanes[d].stalled = false;
        for (const { pipes } of connections) pipes[d].release();
      }
    },
    drop: dropAll,
    commands: () => commands,
    seen(name) {
      const found = commands.find((command) => name.test(command[0]!));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => watchers.push({ name, resolve }));
    },
    async close() {
      dropAll();
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}
