// Section: what one parseRateLimit call costs on a realistic response, the price every response pays; and what the
// event checks every call makes cost when nothing listens, with Node's diagnostics channels and without.
import { runProbe } from '../child.js';
import { compileRatewise } from '../compiled.js';
import { formatInteger, formatMicros, formatRange, median } from '../measure.js';
import type { RunContext, Section, SectionResult } from '../report.js';
import type { HeaderParsingInput, HeaderParsingOutput } from './header-parsing-probe.js';

/** Every header set, as a record and as a `Headers` object: at most this many ns per call. */
const TARGET_NS = 4_000;
/** Most that diagnostics channels nobody subscribes to may add to one call, in ns. */
const TARGET_CHANNELS_NS = 100;

async function run({ quick }: RunContext): Promise<SectionResult> {
  const compiled = compileRatewise();
  let output: HeaderParsingOutput;
  try {
    const input: HeaderParsingInput = { quick, build: compiled.dir };
    output = await runProbe<HeaderParsingOutput>(new URL('./header-parsing-probe.ts', import.meta.url), input);
  } finally {
    compiled.dispose();
  }
  const cases = output.cases.map((c) => ({ ...c, name: `${c.headerSet}, ${c.input}`, medianNs: median(c.meansNs) }));
  const rows = cases.map((c) => [
    c.headerSet,
    c.input,
    formatMicros(c.medianNs),
    formatRange(
      c.meansNs.map((ns) => ns / 1_000),
      3,
    ),
    formatInteger(1e9 / c.medianNs),
  ]);
  const over = cases.filter((c) => c.medianNs > TARGET_NS);
  const slowest = Math.max(...cases.map((c) => c.medianNs));
  const { checks, checksNs, checksWithChannelsNs } = output;
  const channelsNs = checksWithChannelsNs - checksNs;
  return {
    description:
      'One `parseRateLimit(headers, { now, status: 200 })` call (tsc build) on a full response head, given as a plain record ' +
      "(Node's `IncomingHttpHeaders`, axios) and as a fetch `Headers` object. Each sample is the mean of a batch of " +
      `back-to-back calls on the same input; every case is timed in turn, ${output.rounds} rounds, in a child ` +
      'process that loads nothing but the build; µs/op is the median of the rounds’ means, the range their spread.',
    columns: ['Header set', 'Input', 'µs/op (median)', 'µs/op (min–max)', 'ops/s'],
    rows,
    notes: [
      `Target: at most ${TARGET_NS / 1_000} µs per call on every header set, records and \`Headers\` alike: ` +
        (over.length === 0
          ? `met (slowest ${formatMicros(slowest)} µs).`
          : `not met by ${over.map((c) => `${c.name} (${formatMicros(c.medianNs)} µs)`).join('; ')}.`),
      `Events nobody listens to: the ${checks.length} checks every call makes (\`${checks.join('`, `')}\`) ` +
        `cost ${checksNs.toFixed(1)} ns per call; Node's diagnostics channels (\`ratewise:<event>\`) with no ` +
        `subscriber make it ${checksWithChannelsNs.toFixed(1)} ns, ${channelsNs.toFixed(1)} ns more. Target: ` +
        `≤ ${TARGET_CHANNELS_NS} ns more (${channelsNs <= TARGET_CHANNELS_NS ? 'met' : 'not met'}).`,
    ],
  };
}

export const headerParsing: Section = {
  id: 'headers',
  title: 'Header parsing cost',
  peers: ['structured-headers'],
  run,
};
