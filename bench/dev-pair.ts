// Dev tool: runs one efficiency pair from the sources, N times, and prints each run's figures.
// `npx tsx bench/dev-pair.ts <server> <client> [runs] [--quick]`
import * as core from '../src/index.js';
import * as undici from '../src/adapters/undici.js';
import * as axios from '../src/adapters/axios.js';
import { fastestFinishMs } from './efficiency.js';
import { efficiencyClients, efficiencyKinds, runEfficiencyPair } from './sections/efficiency-cases.js';

const [server = 'bare-429', clientId = 'ratewise', runsArg = '1', ...rest] = process.argv.slice(2);
const quick = rest.includes('--quick');
const kind = efficiencyKinds.find((k) => k.id === server)!;
const client = efficiencyClients.find((c) => c.id === clientId)!;
const shape = kind.shape(quick);
const ratewise = { ...core, ...undici, ...axios } as never;
for (let i = 0; i < Number(runsArg); i++) {
  const run = await runEfficiencyPair(kind, client, shape, ratewise, () => Promise.resolve());
  const fastest = shape.policy === undefined ? 0 : fastestFinishMs(shape.requests, shape.policy);
  console.log(
    JSON.stringify({
      wall: Math.round(run.wallMs),
      eff: fastest ? +(fastest / run.wallMs).toFixed(3) : undefined,
      ok: run.successes,
      lost: run.lost,
      cut: run.cutOff,
      causes: run.causes,
      sent: run.sent,
      refused: run.refused,
      rAfter: run.refusedAfterFirstAnswer,
      late: run.lateWindows,
      windows: run.windows?.map((w) => [w.startAt - (run.windows?.[0]?.startAt ?? 0), w.accepted, w.refused]),
    }),
  );
}
