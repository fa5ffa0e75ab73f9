#!/usr/bin/env node
// The import graph of src/: fails on any cycle (type-only imports included) and on any import that goes up the
// layers that docs/architecture.md describes. `--report` prints the graph's depth, fan-in/out and file sizes.
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.join(import.meta.dirname, '..', 'src');

/**
 * Layers, lowest first: a file may import its own layer (without cycles) or a lower one. Adapters and the Redis
 * store are entry points of their own and go through the rule below instead. The CLI (`bin` in package.json) is on
 * top: nothing imports it, so no entry point of the library carries it.
 */
const LAYERS = [
  ['clock.ts', 'errors.ts', 'random-key.ts', 'headers/', 'store/types.ts'],
  ['options.ts'],
  ['retry/'],
  ['config/'],
  ['events.ts', 'diagnostics.ts'],
  ['engine/'],
  ['http/'],
  ['client.ts'],
  ['index.ts'],
  ['adapters/', 'otel/', 'store/'],
  ['cli/'],
];
/** What an adapter may import besides its own folder: the public entry point and the one internal seam. */
const ADAPTER_IMPORTS = new Set(['index.ts', 'http/seam.ts']);
/** `ratewise/otel` only listens to a client: the public entry point, and how a missing peer is reported. */
const OTEL_IMPORTS = new Set(['index.ts', 'adapters/peer.ts']);

function layerOf(file) {
  const i = LAYERS.findIndex((prefixes) => prefixes.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)));
  if (i < 0) throw new Error(`check-imports: ${file} belongs to no layer; add it to LAYERS`);
  return i;
}

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.ts') ? [path.relative(SRC, p).split(path.sep).join('/')] : [];
  });
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
const files = walk(SRC).sort();
const graph = new Map();
for (const file of files) {
  const text = fs.readFileSync(path.join(SRC, file), 'utf8');
  const deps = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts');
    deps.add(target);
  }
  graph.set(file, [...deps].sort());
}

const problems = [];
for (const [file, deps] of graph) {
  for (const dep of deps) {
    if (!graph.has(dep)) {
      problems.push(`${file} imports ${dep}, which is not a file of src/`);
      continue;
    }
    const inAdapters = file.startsWith('adapters/');
    if (inAdapters) {
      if (!dep.startsWith('adapters/') && !ADAPTER_IMPORTS.has(dep)) {
        problems.push(`${file} imports ${dep}: adapters import only ${[...ADAPTER_IMPORTS].join(' and ')}`);
      }
      continue;
    }
    if (file.startsWith('otel/')) {
      if (!dep.startsWith('otel/') && !OTEL_IMPORTS.has(dep)) {
        problems.push(`${file} imports ${dep}: otel/ imports only ${[...OTEL_IMPORTS].join(' and ')}`);
      }
      continue;
    }
    if (layerOf(dep) > layerOf(file)) problems.push(`${file} imports ${dep}, a higher layer`);
  }
}

// Cycles: Tarjan's strongly connected components.
let index = 0;
const stack = [];
const meta = new Map();
const cycles = [];
function connect(v) {
  meta.set(v, { index, low: index, onStack: true });
  index++;
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!meta.has(w)) {
      connect(w);
      meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low);
    } else if (meta.get(w).onStack) {
      meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index);
    }
  }
  if (meta.get(v).low === meta.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      meta.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
  }
}
for (const v of graph.keys()) if (!meta.has(v)) connect(v);
for (const c of cycles) problems.push(`import cycle: ${c.join(' <-> ')}`);

if (process.argv.includes('--report')) {
  const depth = new Map();
  const depthOf = (v) => {
    if (depth.has(v)) return depth.get(v);
    depth.set(v, 0);
    const d = 1 + Math.max(0, ...(graph.get(v) ?? []).filter((w) => graph.has(w)).map(depthOf));
    depth.set(v, d);
    return d;
  };
  const lines = files.map((f) => ({
    f,
    lines: fs.readFileSync(path.join(SRC, f), 'utf8').split('\n').length,
    out: graph.get(f).length,
    in: files.filter((g) => graph.get(g).includes(f)).length,
    depth: depthOf(f),
  }));
  console.log('file'.padEnd(34), 'lines', 'in', 'out', 'depth');
  for (const l of lines)
    console.log(
      l.f.padEnd(34),
      String(l.lines).padStart(5),
      String(l.in).padStart(2),
      String(l.out).padStart(3),
      String(l.depth).padStart(5),
    );
  const flat = files.filter((f) => !f.includes('/')).length;
  console.log(
    `\n${files.length} files, ${flat} flat in src/, longest import chain ${Math.max(...lines.map((l) => l.depth))}, ${cycles.length} cycles`,
  );
}

if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} problem(s) in src/'s import graph:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
if (!process.argv.includes('--report'))
  console.log(`check-imports: ${files.length} files, no cycles, no upward imports`);
