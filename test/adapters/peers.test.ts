// The optional peers of the adapters and of ratewise/otel, as an installed package meets them: the package is built
// into a temporary folder as `node_modules/ratewise`, once without undici, axios and @opentelemetry/api beside it and
// once with them, and each entry point is imported and required by a child Node process there. The shared node_modules is never touched.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PEER_RANGES } from '../../src/adapters/peer.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>;
  dependencies: Record<string, string>;
};

let temp = '';
/** A project folder whose node_modules holds ratewise and its dependencies, without the optional peers. */
let bare = '';
/** The same, with undici, axios and @opentelemetry/api installed beside ratewise. */
let full = '';

/** src/ as the build emits it (each file on its own, as `isolatedModules` allows), into `dist`. */
function build(dist: string): void {
  const src = join(root, 'src');
  for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    const { outputText } = ts.transpileModule(readFileSync(join(src, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      fileName: file,
    });
    const out = join(dist, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
}

/** A project at `dir` with ratewise (a copy: Node resolves a package's imports from where it really is) and `peers`. */
function project(dir: string, built: string, peers: readonly string[]): void {
  const modules = join(dir, 'node_modules');
  cpSync(built, join(modules, 'ratewise'), { recursive: true });
  for (const name of [...Object.keys(pkg.dependencies), ...peers]) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
  }
}

beforeAll(() => {
  temp = mkdtempSync(join(tmpdir(), 'ratewise-peers-'));
  const built = join(temp, 'built');
  build(join(built, 'dist'));
  cpSync(join(root, 'package.json'), join(built, 'package.json'));
  bare = join(temp, 'bare');
  full = join(temp, 'full');
  project(bare, built, []);
  project(full, built, ['undici', 'axios', '@opentelemetry/api']);
});

afterAll(() => {
  if (temp !== '') rmSync(temp, { recursive: true, force: true });
});

/** What loading `specifier` gives in a child process at `cwd`: the export names, or the error's code and message. */
async function load(cwd: string, how: 'import' | 'require', specifier: string): Promise<string> {
  const report = `(m) => console.log(JSON.stringify(Object.keys(m).sort()))`;
  const fail = `(e) => console.log(JSON.stringify({ code: e.code, message: e.message }))`;
  const script =
    how === 'import'
      ? `import(${JSON.stringify(specifier)}).then(${report}, ${fail})`
      : `try { (${report})(require(${JSON.stringify(specifier)})) } catch (e) { (${fail})(e) }`;
  const args = how === 'import' ? ['--input-type=module', '-e', script] : ['-e', script];
  const { stdout } = await run(process.execPath, args, { cwd, timeout: 20_000 });
  return stdout.trim();
}

test('the peer ranges the errors name are those of package.json', () => {
  expect(PEER_RANGES).toEqual(pkg.peerDependencies);
});

describe.concurrent('without the optional peers installed', () => {
  test.for([
    ['ratewise/undici', 'undici'],
    ['ratewise/axios', 'axios'],
    ['ratewise/otel', '@opentelemetry/api'],
  ] as const)('%s, imported or required, fails naming the package and range to install', async ([entry, peer]) => {
    const range = PEER_RANGES[peer];
    const expected = {
      code: 'ERR_MODULE_NOT_FOUND',
      message:
        `${entry} needs the ${peer} package (${range}), an optional peer dependency of ratewise that is not ` +
        `installed: npm install ${peer}@"${range}"`,
    };
    expect(JSON.parse(await load(bare, 'import', entry))).toEqual(expected);
    expect(JSON.parse(await load(bare, 'require', entry))).toEqual(expected);
  });

  test('the core loads without them', async () => {
    expect(JSON.parse(await load(bare, 'import', 'ratewise'))).toContain('createRatewise');
  });
});

describe.concurrent('with the optional peers installed', () => {
  test.for([
    ['ratewise/undici', ['RatewiseDispatcher', 'installRatewise', 'ratewiseDispatcher']],
    ['ratewise/axios', ['withRatewise']],
    ['ratewise/otel', ['instrument']],
  ] as const)('%s loads through import and through require (no top-level await)', async ([entry, names]) => {
    expect(JSON.parse(await load(full, 'import', entry))).toEqual(names);
    expect(JSON.parse(await load(full, 'require', entry))).toEqual(names);
  });

  test('import and require give the one module, which works', async () => {
    const script = `
      import { createRequire } from 'node:module';
      import { createRatewise } from 'ratewise';
      import * as imported from 'ratewise/undici';
      import axios from 'axios';
      import { withRatewise } from 'ratewise/axios';
      const required = createRequire(import.meta.url)('ratewise/undici');
      const rw = createRatewise();
      const uninstall = imported.installRatewise(rw);
      let refused = '';
      try { required.installRatewise(rw); } catch (e) { refused = e.code; }
      uninstall();
      const api = withRatewise(axios.create(), rw);
      await rw.close();
      console.log(JSON.stringify([required.installRatewise === imported.installRatewise, refused, typeof api.get]));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: full,
      timeout: 20_000,
    });
    expect(JSON.parse(stdout.trim())).toEqual([true, 'ERR_RATEWISE_ALREADY_INSTALLED', 'function']);
  });
});
