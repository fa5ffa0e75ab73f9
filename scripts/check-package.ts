// `npm run check:package` (in `npm test`, after the build): the packed tarball, as a user installs it.
// - It carries a LICENSE, and every source map in it ships with the sources it points to (the build emits none).
// - A CommonJS file can `require()` every entry point and use it (Node >= 20.19 loads ES modules through
//   require(esm)), silently: run in a child process from a folder where the tarball is unpacked as
//   node_modules/ratewise, next to links to the package's dependencies.
// - The `ratewise` command (`bin`) is in the tarball, starts with a node shebang, and loads: `inspect --help`.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

/** What `npm pack --json` says of one tarball. */
interface Packed {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

/** The package's manifest, as far as this script reads it. */
interface Manifest {
  readonly bin?: Readonly<Record<string, string>>;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
}

/** Run as `require.cjs` in the unpacked package's parent folder. Prints one line and exits 0, or throws. */
const REQUIRE_CJS = `'use strict';
const assert = require('node:assert/strict');
const http = require('node:http');
const { createRatewise, parseRateLimit, isRatewiseError } = require('ratewise');
const { withRatewise } = require('ratewise/axios');
const { installRatewise, ratewiseDispatcher } = require('ratewise/undici');
const { redisStore } = require('ratewise/redis');
const { customStore } = require('ratewise/store');
const { instrument } = require('ratewise/otel');

async function main() {
  for (const fn of [createRatewise, parseRateLimit, isRatewiseError, withRatewise, installRatewise, ratewiseDispatcher, redisStore, customStore, instrument]) {
    assert.equal(typeof fn, 'function');
  }
  const server = http.createServer((req, res) => {
    res.setHeader('RateLimit-Policy', '"default";q=5;w=1');
    res.setHeader('RateLimit', '"default";r=4;t=1');
    res.end('hello');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = 'http://127.0.0.1:' + server.address().port + '/';
  const rw = createRatewise();
  const detach = instrument(rw);
  try {
    const response = await rw.fetch(url);
    assert.equal(await response.text(), 'hello');
    assert.equal(rw.stats()[0].server.remaining, 4);
    assert.equal(parseRateLimit(response.headers, { now: 0 }).limit, 5);
  } finally {
    detach();
    await rw.close();
    server.closeAllConnections();
    server.close();
  }
  await assert.rejects(rw.fetch(url), (error) => isRatewiseError(error, 'ERR_RATEWISE_CLOSED'));
  // A store of one's own, shared by two clients of this process: one budget for both.
  let tokens = 1;
  const store = customStore({
    name: 'memory',
    sync: async (key, request) => {
      const held = request.need > tokens;
      const granted = held ? 0 : Math.min(request.want, tokens);
      tokens -= granted;
      return { granted, waitMs: held ? 3600000 : 0, reason: held ? 'rate' : undefined, pausedForMs: 0, orderedForMs: 0, counter: 0 };
    },
  });
  const a = createRatewise({ store, maxWait: 1000, budgets: { '*': { rate: '100/s' } } });
  const b = createRatewise({ store, maxWait: 1000, budgets: { '*': { rate: '100/s' } } });
  assert.equal(await a.schedule(() => 'ran'), 'ran');
  await assert.rejects(b.schedule(() => 'ran'), (error) => isRatewiseError(error, 'ERR_RATEWISE_RATE_LIMITED'));
  await Promise.all([a.close(), b.close()]);
  console.log('require: ratewise, ratewise/axios, ratewise/undici, ratewise/redis, ratewise/store and ratewise/otel load and work');
}
main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

const failures: string[] = [];
const dir = await mkdtemp(join(tmpdir(), 'ratewise-package-'));
try {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root });
  const packed = (JSON.parse(stdout) as Packed[])[0];
  if (packed === undefined) throw new Error('npm pack --json described no tarball');
  const files = new Set(packed.files.map((file) => file.path));
  const unpacked = join(dir, 'node_modules', 'ratewise');
  await mkdir(unpacked, { recursive: true });
  await run('tar', ['-xzf', join(dir, packed.filename), '-C', unpacked, '--strip-components=1']);

  if (!files.has('LICENSE')) failures.push('the tarball has no LICENSE');
  for (const path of files) {
    if (!path.endsWith('.map')) continue;
    const map = JSON.parse(await readFile(join(unpacked, path), 'utf8')) as { sources?: string[]; sourceRoot?: string };
    for (const source of map.sources ?? []) {
      const target = posix.normalize(posix.join(posix.dirname(path), map.sourceRoot ?? '', source));
      if (!files.has(target)) failures.push(`${path} points to ${target}, which is not in the tarball`);
    }
  }

  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as Manifest;
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
    const link = join(dir, 'node_modules', name);
    await mkdir(dirname(link), { recursive: true });
    await symlink(join(root, 'node_modules', name), link, 'dir');
  }
  for (const [command, path] of Object.entries(manifest.bin ?? {})) {
    const file = posix.normalize(path);
    if (!files.has(file)) {
      failures.push(`bin ${command}: ${file} is not in the tarball`);
      continue;
    }
    const text = await readFile(join(unpacked, file), 'utf8');
    if (!text.startsWith('#!/usr/bin/env node\n')) failures.push(`bin ${command}: ${file} has no node shebang`);
    try {
      const child = await run(process.execPath, [join(unpacked, file), 'inspect', '--help'], {
        cwd: dir,
        timeout: 30_000,
        killSignal: 'SIGKILL',
      });
      if (!child.stdout.startsWith('Usage: ratewise inspect') || child.stderr !== '')
        failures.push(`bin ${command}: \`inspect --help\` printed:\n${child.stdout}${child.stderr}`);
      else console.log(`bin: \`${command} inspect --help\` prints its usage`);
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      failures.push(`bin ${command} failed on node ${process.version}:\n${stdout}${stderr || String(error)}`);
    }
  }
  await writeFile(join(dir, 'require.cjs'), REQUIRE_CJS);
  try {
    const child = await run(process.execPath, ['require.cjs'], { cwd: dir, timeout: 30_000, killSignal: 'SIGKILL' });
    // require(esm) is silent from Node 20.19 on: a warning here would be one every CommonJS user sees.
    if (child.stderr !== '') failures.push(`require.cjs wrote to stderr:\n${child.stderr}`);
    console.log(child.stdout.trimEnd());
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    failures.push(`require.cjs failed on node ${process.version}:\n${stdout}${stderr || String(error)}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`check-package: ${failures.join('\n')}`);
  process.exit(1);
}
console.log(
  'check-package: the tarball has a LICENSE, no source map without its sources, loads with require(), and its bin runs',
);
