// ratewise as the published build emits it, for the sections that time the engine.
//
// tsx compiles with esbuild's `keepNames`, which wraps every function expression in `__name(fn, "…")`: each closure
// made on a hot path then costs an `Object.defineProperty` call and an out-of-object property array. The published
// build (`tsc -p tsconfig.build.json`) has none of that, and neither do the peers compared with it, so the engine is
// loaded from a fresh tsc transpilation of `src/` instead.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type * as Ratewise from '../src/index.js';
import { importRatewise } from './build-imports.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A transpilation of `src/` on disk. */
export interface CompiledRatewise {
  /** The directory holding `index.js` and the rest of the emitted modules. */
  readonly dir: string;
  /** Removes the directory. Modules already imported from it stay loaded. */
  dispose(): void;
}

/**
 * Transpiles `src/` with the options of tsconfig.build.json. `isolatedModules` holds, so per-file transpilation
 * emits what `tsc` emits; the module kind is spelled ES2022 because transpileModule cannot see the
 * `"type": "module"` that makes NodeNext emit ESM here. Done by the parent of a probe, so that the probe's heap
 * (and every `gc()` it times around) does not carry the TypeScript compiler: the probe imports the result with
 * build-imports.ts.
 */
export function compileRatewise(): CompiledRatewise {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error('tsconfig.build.json could not be read');
  const compilerOptions: ts.CompilerOptions = {
    ...config.options,
    module: ts.ModuleKind.ES2022,
    sourceMap: false,
    declaration: false,
    declarationMap: false,
  };
  const rootDir = config.options.rootDir ?? join(ROOT, 'src');
  // Under node_modules so that the emitted bare imports (structured-headers) resolve as they do from dist/; one
  // directory per run, since other runs may share the checkout.
  const cache = join(ROOT, 'node_modules', '.cache', 'ratewise-bench');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'build-'));
  const dispose = (): void => {
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    for (const fileName of config.fileNames) {
      const source = ts.sys.readFile(fileName);
      if (source === undefined) throw new Error(`${fileName} could not be read`);
      const { outputText } = ts.transpileModule(source, { compilerOptions, fileName });
      const target = join(dir, relative(rootDir, fileName).replace(/\.ts$/, '.js'));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, outputText);
    }
  } catch (error) {
    dispose();
    throw error;
  }
  return { dir, dispose };
}

/** Compiles and imports in one go, for in-process use; the files go once imported (src has no dynamic imports). */
export async function importCompiledRatewise(): Promise<typeof Ratewise> {
  const compiled = compileRatewise();
  try {
    return await importRatewise(compiled.dir);
  } finally {
    compiled.dispose();
  }
}
