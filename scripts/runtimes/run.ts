// `npm run test:runtimes` (after the build and scripts/runtimes/install.mjs): the built package, packed as it would
// be published, runs the conformance program (conformance.mjs) in every runtime of versions.json and in the Node 20
// that runs this script. This process starts the servers on 127.0.0.1, a fresh set per runtime, so that the runtime
// under test needs nothing but fetch; it judges what the servers saw, compares each runtime's reading of the header
// table with Node 20's, prints one report and exits non-zero on any failure.
//
// Usage: tsx scripts/runtimes/run.ts [id ...]   (default: node20 and every runtime of versions.json)
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, promisify } from 'node:util';
import { REDIS_SERVER, startRedis } from '../../test/support/redis-server.js';
import type { RedisServer } from '../../test/support/redis-server.js';
import { refusedAfterFirstAnswer } from '../../test/support/request-log.js';
import { startExpressServer, startScriptedServer } from '../../test/support/servers.js';
import type { RecordedRequest, TestServer } from '../../test/support/servers.js';
import { runWorkerd } from './workerd.js';

const execFileAsync = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const cache = join(root, '.cache', 'runtimes');
/** A project that depends on the packed package, as a user's would; the conformance program runs from there. */
const consumer = join(cache, 'consumer');
/** The conformance program's files, copied into the consumer project. */
const PROGRAM = ['conformance.mjs', 'header-table.mjs', 'main.mjs', 'node-entries.mjs', 'worker.mjs'];
/** The package's dependency and the optional peers the Node entry points load, linked from this repository. */
const LINKED = ['structured-headers', 'axios', 'undici', 'redis'];

/** Longest a runtime may take for the whole program. */
const RUN_TIMEOUT_MS = 90_000;
/** How long a runtime has to exit once it has reported: longer means a timer or socket was left behind. */
const EXIT_GRACE_MS = 10_000;
const MARKER = 'RATEWISE-CONFORMANCE ';

type Kind = 'node' | 'bun' | 'deno' | 'workerd';

interface Runtime {
  readonly id: string;
  readonly label: string;
  readonly kind: Kind;
  /** The executable. */
  readonly bin: string;
}

interface Check {
  readonly id: string;
  readonly name: string;
  ok: boolean;
  detail: string;
}

interface ChildResult {
  /** The runtime and version, as the program sees them. */
  readonly runtime: string;
  readonly checks: Check[];
  readonly parse: unknown;
  /** How the runtime's timers keep time (for the report only). */
  readonly timers: string;
}

/** What the conformance program is given: where the servers are. */
export interface ConformanceConfig {
  readonly pace: string;
  readonly pause: string;
  readonly hold: string;
  readonly node?: {
    readonly axios: string;
    readonly fetch: string;
    readonly redis?: { readonly pause: string; readonly url: string };
  };
}

/** One runtime's outcome. */
interface Outcome {
  readonly runtime: Runtime;
  readonly version: string;
  readonly checks: readonly Check[];
  readonly result: ChildResult | undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The consumer project

interface Packed {
  readonly filename: string;
}

/** Packs the built package and unpacks it as the consumer's node_modules/ratewise, next to its dependencies. */
async function prepareConsumer(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  await rm(consumer, { recursive: true, force: true });
  const modules = join(consumer, 'node_modules');
  const unpacked = join(modules, 'ratewise');
  await mkdir(unpacked, { recursive: true });
  const { stdout } = await execFileAsync('npm', ['pack', '--json', '--pack-destination', consumer], { cwd: root });
  const packed = (JSON.parse(stdout) as Packed[])[0];
  if (packed === undefined) throw new Error('npm pack --json described no tarball');
  await execFileAsync('tar', ['-xzf', join(consumer, packed.filename), '-C', unpacked, '--strip-components=1']);
  for (const name of LINKED) await symlink(join(root, 'node_modules', name), join(modules, name), 'dir');
  const manifest = { name: 'ratewise-conformance', private: true, type: 'module' };
  await writeFile(join(consumer, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const file of PROGRAM) await copyFile(join(here, file), join(consumer, file));
}

// ---------------------------------------------------------------------------------------------------------------
// Runtimes

interface Pinned {
  readonly label: string;
  readonly pkg: string;
  readonly version: string;
  readonly command: string;
  readonly kind: Kind;
}

async function runtimes(ids: readonly string[]): Promise<Runtime[]> {
  const pinned = JSON.parse(await readFile(join(here, 'versions.json'), 'utf8')) as Record<string, Pinned>;
  const all: Runtime[] = [
    { id: 'node20', label: 'Node 20 (this process’s)', kind: 'node', bin: process.execPath },
    ...Object.entries(pinned).map(([id, { label, command, kind }]) => ({
      id,
      label,
      kind,
      bin: join(cache, id, 'node_modules', '.bin', command),
    })),
  ];
  for (const id of ids) {
    if (!all.some((runtime) => runtime.id === id)) {
      throw new Error(`Unknown runtime ${JSON.stringify(id)}: expected one of ${all.map((r) => r.id).join(', ')}`);
    }
  }
  const chosen = ids.length === 0 ? all : all.filter((runtime) => ids.includes(runtime.id));
  for (const runtime of chosen) {
    if (!existsSync(runtime.bin)) {
      throw new Error(`${runtime.label} is not installed: run \`node scripts/runtimes/install.mjs\` first`);
    }
  }
  return chosen;
}

async function versionOf(runtime: Runtime): Promise<string> {
  const { stdout } = await execFileAsync(runtime.bin, ['--version']);
  // Deno adds its build in parentheses, and more lines.
  return stdout
    .split('\n')[0]!
    .replace(/\(.*\)/, '')
    .trim();
}

/** The command line that runs main.mjs with `config` in a runtime. */
function commandLine(runtime: Runtime, config: ConformanceConfig): string[] {
  const json = JSON.stringify(config);
  switch (runtime.kind) {
    case 'node':
      return [runtime.bin, 'main.mjs', json];
    case 'bun':
      return [runtime.bin, 'run', 'main.mjs', json];
    case 'deno':
      // Only what the program needs: its own files and node_modules, and the servers on 127.0.0.1.
      return [runtime.bin, 'run', '--no-prompt', `--allow-read=${consumer}`, '--allow-net=127.0.0.1', 'main.mjs', json];
    case 'workerd':
      throw new Error('workerd runs through workerd.ts');
  }
}

/**
 * A Deno project with a deno.json and no package.json finds packages in node_modules (installed by npm) only with
 * `"nodeModulesDir": "manual"`, as the README tells Deno users: checked in a folder that shares the consumer's
 * node_modules.
 */
async function denoJsonProject(runtime: Runtime): Promise<Check> {
  const dir = join(cache, 'consumer-deno-json');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await symlink(join(consumer, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'deno.json'), `${JSON.stringify({ nodeModulesDir: 'manual' })}\n`);
  const program = `import { parseRateLimit } from 'ratewise';
console.log(parseRateLimit({ ratelimit: '"p";r=3;t=1', 'ratelimit-policy': '"p";q=20;w=1' }, { now: 0 }).remaining);
`;
  await writeFile(join(dir, 'main.mjs'), program);
  const name = 'imports ratewise in a deno.json project with "nodeModulesDir": "manual"';
  try {
    const { stdout } = await execFileAsync(runtime.bin, ['run', '--no-prompt', `--allow-read=${dir}`, 'main.mjs'], {
      cwd: dir,
      env: childEnv(),
    });
    const ok = stdout.trim() === '3';
    return { id: 'deno-json', name, ok, detail: ok ? 'resolved from node_modules' : `printed ${stdout.trim()}` };
  } catch (error) {
    return { id: 'deno-json', name, ok: false, detail: String(error) };
  }
}

/** The package's `ratewise inspect` command, run by this Node against express-rate-limit's draft-8 fields. */
async function inspectCli(runtime: Runtime): Promise<Check> {
  const manifest = JSON.parse(await readFile(join(consumer, 'node_modules', 'ratewise', 'package.json'), 'utf8')) as {
    bin?: Record<string, string>;
  };
  const name = 'the ratewise inspect command';
  const bin = manifest.bin?.['ratewise'];
  if (bin === undefined) return { id: 'cli', name, ok: false, detail: 'the package has no ratewise bin' };
  const server = await startPaceServer();
  try {
    const { stdout } = await execFileAsync(
      runtime.bin,
      [join(consumer, 'node_modules', 'ratewise', bin), 'inspect', '--json', `${server.url}/items`],
      { cwd: consumer, env: childEnv() },
    );
    const report = JSON.parse(stdout) as { rateLimit?: { limit?: number; remaining?: number } };
    const { limit, remaining } = report.rateLimit ?? {};
    const ok = limit === 20 && remaining === 19;
    return { id: 'cli', name, ok, detail: `limit ${String(limit)}, remaining ${String(remaining)}` };
  } catch (error) {
    return { id: 'cli', name, ok: false, detail: String(error) };
  } finally {
    await server.close();
  }
}

interface ChildRun {
  readonly result: ChildResult | undefined;
  /** Whether the process exited by itself within the grace period after reporting. */
  readonly exited: boolean;
  readonly output: string;
}

/** Runs the conformance program in a child process and reads its report. */
function runChild(runtime: Runtime, config: ConformanceConfig): Promise<ChildRun> {
  const [bin, ...args] = commandLine(runtime, config);
  return new Promise((resolve) => {
    const child = spawn(bin!, args, { cwd: consumer, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
    let output = '';
    let result: ChildResult | undefined;
    let grace: NodeJS.Timeout | undefined;
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (result !== undefined) return;
      const line = output
        .split('\n')
        .find((candidate) => candidate.startsWith(MARKER) && output.includes(`${candidate}\n`));
      if (line === undefined) return;
      result = JSON.parse(line.slice(MARKER.length)) as ChildResult;
      grace = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const deadline = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      clearTimeout(grace);
      resolve({ result, exited: signal === null && code === 0, output });
    });
  });
}

/** The child's environment: this one, less npm's variables (the runtime is not run by npm) and with no colours. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1' };
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('npm_') && name !== 'FORCE_COLOR') env[name] = value;
  }
  return env;
}

// ---------------------------------------------------------------------------------------------------------------
// Servers, and what they saw

interface Servers {
  readonly pace: TestServer;
  readonly pause: TestServer;
  readonly hold: TestServer;
  readonly axios?: TestServer;
  readonly fetch?: TestServer;
  readonly redis?: TestServer;
}

/** express-rate-limit, IETF draft-8 fields only: 20 requests per 1 s window. */
function startPaceServer(): Promise<TestServer> {
  return startExpressServer({ limit: 20, windowMs: 1_000, standardHeaders: 'draft-8', legacyHeaders: false });
}

/** Answers its first request 429 with `Retry-After: 1`, and every other 200. */
function startPauseServer(): Promise<TestServer> {
  return startScriptedServer(({ index }) =>
    index === 0
      ? { status: 429, headers: { 'retry-after': '1' }, json: { error: 'slow down' } }
      : { json: { ok: true } },
  );
}

async function startServers(kind: Kind, redis: RedisServer | undefined): Promise<Servers> {
  const pace = await startPaceServer();
  const pause = await startPauseServer();
  const hold = await startHoldServer();
  if (kind !== 'node') return { pace, pause, hold };
  return {
    pace,
    pause,
    hold,
    axios: await startPaceServer(),
    fetch: await startPaceServer(),
    ...(redis === undefined ? {} : { redis: await startPauseServer() }),
  };
}

/**
 * Holds `/hang/…` requests open until the client leaves (the script's promise is dropped with the connection), and
 * answers `/seen/hang/…` once `/hang/…` has arrived: the program learns that a request is on the wire without
 * sleeping. Anything else is answered 200.
 */
function startHoldServer(): Promise<TestServer> {
  const seen = new Set<string>();
  const waiters = new Map<string, (() => void)[]>();
  return startScriptedServer(async ({ url }) => {
    if (url.startsWith('/seen/')) {
      const path = url.slice('/seen'.length);
      if (!seen.has(path))
        await new Promise<void>((resolve) => waiters.set(path, [...(waiters.get(path) ?? []), resolve]));
      return { json: { seen: path } };
    }
    seen.add(url);
    for (const wake of waiters.get(url) ?? []) wake();
    waiters.delete(url);
    return url.startsWith('/hang/') ? new Promise<never>(() => undefined) : { json: { ok: true } };
  });
}

function configOf(servers: Servers, redis: RedisServer | undefined): ConformanceConfig {
  const base = { pace: servers.pace.url, pause: servers.pause.url, hold: servers.hold.url };
  if (servers.axios === undefined || servers.fetch === undefined) return base;
  return {
    ...base,
    node: {
      axios: servers.axios.url,
      fetch: servers.fetch.url,
      ...(servers.redis === undefined || redis === undefined
        ? {}
        : { redis: { pause: servers.redis.url, url: redis.url } }),
    },
  };
}

async function closeServers(servers: Servers): Promise<void> {
  await Promise.all(Object.values(servers).map((server: TestServer) => server.close()));
}

/** No refusal after the first answer: what a client that reads the answers could have held back. */
function paced(server: TestServer | undefined): string | undefined {
  if (server === undefined) return 'no server';
  const log = server.requests();
  const late = refusedAfterFirstAnswer(log);
  const refused = log.filter((request) => request.status === 429).length;
  const figures = `${log.length} requests, ${refused} refused (${late.length} after the first answer)`;
  return late.length === 0 ? undefined : figures;
}

function pausedForRetryAfter(server: TestServer | undefined): string | undefined {
  if (server === undefined) return 'no server';
  const log = server.requests();
  const [refusal, ...after] = log;
  if (refusal?.status !== 429 || refusal.answeredAt === undefined) return 'the first request was not refused';
  const early = after.filter((request: RecordedRequest) => request.receivedAt < refusal.answeredAt! + 1_000);
  if (early.length > 0) {
    const gaps = early.map((request) => request.receivedAt - refusal.answeredAt!);
    return `${early.length} requests reached the server less than 1 s after the 429 (after ${gaps.join(', ')} ms)`;
  }
  if (after.length !== 3) return `${after.length} requests after the 429, expected 3`;
  return undefined;
}

function urlsSeen(server: TestServer): string[] {
  return server.requests().map((request) => request.url);
}

/** What the servers say of each check, or `undefined` when they agree with it. */
function serverVerdicts(servers: Servers): Record<string, () => string | undefined> {
  const never = (urls: readonly string[]) => (): string | undefined => {
    const seen = urlsSeen(servers.hold).filter((url) => urls.includes(url));
    return seen.length === 0 ? undefined : `the server received ${seen.join(', ')}`;
  };
  return {
    pacing: () => paced(servers.pace),
    pause: () => pausedForRetryAfter(servers.pause),
    'abort-queued': never(['/hang/queued']),
    'abort-in-flight': () =>
      urlsSeen(servers.hold).includes('/hang/in-flight') ? undefined : 'the server never received the request',
    close: never(['/ok/1', '/ok/2', '/ok/3']),
    axios: () => paced(servers.axios),
    fetch: () => paced(servers.fetch),
    redis: () => pausedForRetryAfter(servers.redis),
  };
}

// ---------------------------------------------------------------------------------------------------------------

async function runOne(runtime: Runtime, redis: RedisServer | undefined): Promise<Outcome> {
  const version = await versionOf(runtime);
  const servers = await startServers(runtime.kind, redis);
  const config = configOf(servers, redis);
  try {
    let result: ChildResult | undefined;
    const checks: Check[] = [];
    if (runtime.kind === 'workerd') {
      try {
        result = (await runWorkerd(runtime.bin, consumer, config)) as ChildResult;
      } catch (error) {
        checks.push({ id: 'run', name: 'the program reports', ok: false, detail: String(error) });
      }
    } else {
      const run = await runChild(runtime, config);
      result = run.result;
      if (result !== undefined) {
        checks.push({
          id: 'exit',
          name: 'exits by itself once idle',
          ok: run.exited,
          detail: run.exited ? 'exit code 0' : `still running ${EXIT_GRACE_MS} ms after its report, or failed`,
        });
      } else {
        checks.push({ id: 'run', name: 'the program reports', ok: false, detail: run.output.slice(-4_000) });
      }
      if (runtime.kind === 'deno') checks.push(await denoJsonProject(runtime));
      if (runtime.kind === 'node') checks.push(await inspectCli(runtime));
    }
    if (result === undefined) return { runtime, version, checks, result };
    const verdicts = serverVerdicts(servers);
    for (const check of result.checks) {
      const verdict = check.ok ? verdicts[check.id]?.() : undefined;
      if (verdict !== undefined) {
        check.ok = false;
        check.detail = `${check.detail}; server: ${verdict}`;
      }
    }
    return { runtime, version, checks: [...result.checks, ...checks], result };
  } finally {
    await closeServers(servers);
  }
}

/** Adds the comparison of each runtime's header readings with the reference's (Node 20's). */
function compareParse(outcomes: readonly Outcome[]): Outcome[] {
  const reference = outcomes.find((outcome) => outcome.runtime.id === 'node20')?.result?.parse;
  return outcomes.map((outcome) => {
    if (outcome.runtime.id === 'node20' || outcome.result === undefined || reference === undefined) return outcome;
    const differing = differences(reference, outcome.result.parse);
    const check: Check = {
      id: 'parse-equal',
      name: 'parseRateLimit results equal Node 20’s',
      ok: differing.length === 0,
      detail: differing.length === 0 ? 'every set' : `differ: ${differing.join('; ')}`,
    };
    return { ...outcome, checks: [...outcome.checks, check] };
  });
}

function differences(reference: unknown, actual: unknown): string[] {
  if (!Array.isArray(reference) || !Array.isArray(actual)) return ['no results'];
  return reference.flatMap((expected: { name: string }, i) => {
    const got: unknown = actual[i];
    return isDeepStrictEqual(expected, got) ? [] : [`${expected.name}: ${JSON.stringify(got)}`];
  });
}

function report(outcomes: readonly Outcome[]): number {
  let passed = 0;
  let failed = 0;
  for (const { runtime, version, checks, result } of outcomes) {
    console.log(`\n${runtime.label}: ${version}${result === undefined ? '' : `, the program says ${result.runtime}`}`);
    if (result !== undefined) console.log(`  info  timers: ${result.timers}`);
    for (const check of checks) {
      if (check.ok) passed++;
      else failed++;
      console.log(`  ${check.ok ? 'pass' : 'FAIL'}  ${check.name}: ${check.detail}`);
    }
  }
  console.log('\nruntime'.padEnd(28) + 'version'.padEnd(34) + 'checks');
  for (const { runtime, version, checks } of outcomes) {
    const bad = checks.filter((check) => !check.ok).length;
    const verdict = bad === 0 ? `${checks.length} pass` : `${bad} of ${checks.length} FAIL`;
    console.log(`${runtime.label.padEnd(27)}${version.padEnd(34)}${verdict}`);
  }
  console.log(`\nruntimes: ${passed} passed, ${failed} failed`);
  return failed;
}

async function main(): Promise<void> {
  const chosen = await runtimes(process.argv.slice(2));
  await prepareConsumer();
  const redis = existsSync(REDIS_SERVER) ? await startRedis() : undefined;
  if (redis === undefined) console.log(`${REDIS_SERVER} is missing: the Redis store check is left out`);
  const outcomes: Outcome[] = [];
  try {
    for (const runtime of chosen) {
      console.log(`running the conformance program in ${runtime.label}`);
      outcomes.push(await runOne(runtime, redis));
    }
  } finally {
    await redis?.stop();
  }
  const failed = report(compareParse(outcomes));
  if (failed > 0) process.exitCode = 1;
}

await main();
