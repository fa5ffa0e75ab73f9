// `npm run size`: how much ratewise weighs in a browser bundle, by one recipe for ratewise and its peers alike:
// esbuild --bundle --minify --format=esm --platform=browser of a one-line module, gzip level 9. The package is
// imported by its name, which resolves through its own `exports` to the BUILT dist: run `npm run build` first.
//
// The ceilings are in size-limits.json. Over a ceiling, the script fails (exit 1): a ceiling may be lowered freely,
// raised only with a reason in its `why`. Entries without a ceiling are reported only.
// `--peers` also measures ky, p-queue, bottleneck and axios (their default export), report only.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** One module to bundle, named as it is reported and as its ceiling is keyed in size-limits.json. */
interface Entry {
  readonly name: string;
  readonly source: string;
}

/** size-limits.json: a ceiling in gzipped bytes per entry name, and why it is what it is. */
interface Limits {
  readonly [name: string]: { readonly gzipBytes: number; readonly why: string };
}

const root = fileURLToPath(new URL('..', import.meta.url));

const entries: readonly Entry[] = [
  { name: 'createRatewise', source: "export { createRatewise } from 'ratewise';" },
  { name: 'parseRateLimit', source: "export { parseRateLimit } from 'ratewise';" },
  { name: 'ratewise/redis', source: "export { redisStore } from 'ratewise/redis';" },
  { name: 'ratewise/store', source: "export { customStore } from 'ratewise/store';" },
];

const peers: readonly Entry[] = ['ky', 'p-queue', 'bottleneck', 'axios'].map((name) => ({
  name,
  source: `export { default } from '${name}';`,
}));

/** Bundles `entry` by the recipe; returns its minified and gzipped sizes in bytes. */
async function measure(entry: Entry): Promise<{ minified: number; gzipped: number }> {
  const result = await build({
    stdin: { contents: entry.source, resolveDir: root, loader: 'js', sourcefile: `${entry.name}.js` },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'warning',
  });
  const code = result.outputFiles[0]?.contents;
  if (code === undefined) throw new Error(`esbuild wrote no output for ${entry.name}`);
  return { minified: code.byteLength, gzipped: gzipSync(code, { level: 9 }).byteLength };
}

/** Bytes as KB of 1,000 bytes with one decimal, the unit of the peers' figures in the issues and the README. */
function kb(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} KB`;
}

if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
  console.error('size: dist/ is missing. The package is measured as published: run `npm run build` first.');
  process.exit(1);
}
const limits = JSON.parse(await readFile(new URL('../size-limits.json', import.meta.url), 'utf8')) as Limits;
for (const name of Object.keys(limits)) {
  if (!entries.some((entry) => entry.name === name))
    throw new Error(`size-limits.json has a ceiling for '${name}', which this script does not measure`);
}

const measured = process.argv.includes('--peers') ? [...entries, ...peers] : entries;
const over: string[] = [];
console.log('size: esbuild --bundle --minify --format=esm --platform=browser, gzip -9 (KB = 1,000 bytes)');
for (const entry of measured) {
  const { minified, gzipped } = await measure(entry);
  const ceiling = limits[entry.name]?.gzipBytes;
  const verdict =
    ceiling === undefined ? '' : `  ceiling ${kb(ceiling)} gz (${ceiling} B): ${gzipped <= ceiling ? 'ok' : 'OVER'}`;
  console.log(
    `  ${entry.name.padEnd(16)} ${kb(minified).padStart(9)} min  ${kb(gzipped).padStart(8)} gz (${gzipped} B)${verdict}`,
  );
  if (ceiling !== undefined && gzipped > ceiling)
    over.push(`${entry.name} is ${gzipped} B gzipped, ${gzipped - ceiling} B over its ceiling of ${ceiling} B`);
}
if (over.length > 0) {
  console.error(
    `\nsize: ${over.join('; ')}.\nMake it smaller, or raise the ceiling in size-limits.json and say why in its "why".`,
  );
  process.exit(1);
}
