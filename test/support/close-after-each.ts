// The clean-up every test file that opens clients, servers or installs needs after each of its tests.
import { afterEach } from 'vitest';
import { getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { createRatewise } from '../../src/index.js';
import type { Ratewise, RatewiseOptions } from '../../src/index.js';

/** What a test file opens, let go of after each of its tests (see {@link closeAfterEach}). */
export interface Opened {
  /** Closed after each test: clients, servers. */
  readonly open: { close(): Promise<void> }[];
  /** Undone after each test (`installRatewise`'s), before the global dispatcher is set back to `original`. */
  readonly uninstalls: (() => void)[];
  /** The global dispatcher as the file found it. */
  readonly original: Dispatcher;
  /** A client, closed after the test. */
  readonly client: (options?: RatewiseOptions) => Ratewise;
}

/** Registers the clean-up after each test of the calling file: installs undone, dispatcher restored, all closed. */
export function closeAfterEach(): Opened {
  const original = getGlobalDispatcher();
  const open: { close(): Promise<void> }[] = [];
  const uninstalls: (() => void)[] = [];
  afterEach(async () => {
    for (const uninstall of uninstalls.splice(0)) uninstall();
    setGlobalDispatcher(original);
    await Promise.all(open.splice(0).map((resource) => resource.close()));
  });
  return {
    open,
    uninstalls,
    original,
    client: (options = {}) => {
      const rw = createRatewise(options);
      open.push(rw);
      return rw;
    },
  };
}
