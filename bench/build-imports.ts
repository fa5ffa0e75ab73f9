// Imports of the ratewise build that compileRatewise() (compiled.ts) wrote, apart from it so that a probe process
// loads the build without loading the TypeScript compiler too.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as RatewiseAxios from '../src/adapters/axios.js';
import type * as RatewiseUndici from '../src/adapters/undici.js';
import type * as Ratewise from '../src/index.js';

/** Imports the ratewise that `compileRatewise()` wrote to `dir`. */
export async function importRatewise(dir: string): Promise<typeof Ratewise> {
  return (await import(pathToFileURL(join(dir, 'index.js')).href)) as typeof Ratewise;
}

/** Imports the axios adapter of the build in `dir`. */
export async function importRatewiseAxios(dir: string): Promise<typeof RatewiseAxios> {
  return (await import(pathToFileURL(join(dir, 'adapters', 'axios.js')).href)) as typeof RatewiseAxios;
}

/** Imports the undici adapter (`ratewise/undici`) of the build in `dir`. */
export async function importRatewiseUndici(dir: string): Promise<typeof RatewiseUndici> {
  return (await import(pathToFileURL(join(dir, 'adapters', 'undici.js')).href)) as typeof RatewiseUndici;
}
