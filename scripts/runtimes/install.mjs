/* global URL */
// Installs the runtimes pinned in versions.json (the one place their versions are written) from the npm registry into .cache/runtimes/<id>/, never globally: each in
// a folder of its own, as a dependency of a private package.json whose `allowScripts` approves that one package's
// install script (bun, deno and workerd link the binary of their platform package there). A runtime already
// installed at its pinned version is skipped, so running this again costs nothing.
//
// Usage: node scripts/runtimes/install.mjs [id ...]   (default: every runtime)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The cache folder, inside the repository and ignored by git. */
export const CACHE = fileURLToPath(new URL('../../.cache/runtimes/', import.meta.url));
const cache = CACHE;

/**
 * The runtimes, in the order they are tested: `id` names the folder in the cache; `pkg` at `version` brings the
 * executable `command` into its `node_modules/.bin`; `kind` says how the conformance program is started in it.
 */
export const RUNTIMES = Object.entries(JSON.parse(readFileSync(new URL('versions.json', import.meta.url), 'utf8'))).map(
  ([id, runtime]) => ({ id, ...runtime }),
);

/** The runtime's executable, once installed. */
export function executable(runtime) {
  return join(cache, runtime.id, 'node_modules', '.bin', runtime.command);
}

function installed(runtime) {
  const marker = join(cache, runtime.id, 'installed.json');
  if (!existsSync(marker) || !existsSync(executable(runtime))) return false;
  const { pkg, version } = JSON.parse(readFileSync(marker, 'utf8'));
  return pkg === runtime.pkg && version === runtime.version;
}

function install(runtime) {
  const dir = join(cache, runtime.id);
  mkdirSync(dir, { recursive: true });
  const manifest = {
    name: `ratewise-runtime-${runtime.id}`,
    private: true,
    dependencies: { [runtime.pkg]: runtime.version },
    allowScripts: { [runtime.pkg]: true },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  execFileSync(
    'npm',
    ['install', '--foreground-scripts', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=warn'],
    { cwd: dir, stdio: 'inherit' },
  );
  if (!existsSync(executable(runtime))) {
    throw new Error(`${runtime.pkg}@${runtime.version} installed no ${runtime.command} in ${dir}/node_modules/.bin`);
  }
  writeFileSync(join(dir, 'installed.json'), `${JSON.stringify({ pkg: runtime.pkg, version: runtime.version })}\n`);
}

export function installRuntimes(ids = []) {
  const wanted = ids.length === 0 ? RUNTIMES : RUNTIMES.filter((runtime) => ids.includes(runtime.id));
  for (const id of ids) {
    if (!RUNTIMES.some((runtime) => runtime.id === id)) {
      throw new Error(`Unknown runtime ${JSON.stringify(id)}: expected one of ${RUNTIMES.map((r) => r.id).join(', ')}`);
    }
  }
  for (const runtime of wanted) {
    if (installed(runtime)) {
      console.log(`${runtime.label}: ${runtime.pkg}@${runtime.version} already installed`);
      continue;
    }
    console.log(`${runtime.label}: installing ${runtime.pkg}@${runtime.version}`);
    install(runtime);
  }
  return wanted;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) installRuntimes(process.argv.slice(2));
