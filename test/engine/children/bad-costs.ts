// A process that gives ratewise costs that once froze its event loop, through rw.schedule, rw.fetch and axios, on
// the real clock. It then lets ten timer turns pass, prints what each call did and exits: if any call stopped the
// event loop, nothing is printed and the process never exits by itself.
import axios, { type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { withRatewise } from '../../../src/adapters/axios.js';
import { createRatewise, isRatewiseError } from '../../../src/index.js';

const rw = createRatewise({
  budgets: { slow: { rate: '2/s', burst: 2 }, 'api.test': { rate: '10/s' }, 'axios.test': { rate: '10/s' } },
  fetch: () => Promise.resolve(new Response('ok')),
});
const api = withRatewise(
  axios.create({
    adapter: (config: InternalAxiosRequestConfig): Promise<AxiosResponse> =>
      Promise.resolve({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config }),
  }),
  rw,
);

/** What a call did: `ok`, or the error's code or name. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    if (isRatewiseError(error)) return error.code;
    const cause = (error as { cause?: unknown }).cause;
    return isRatewiseError(cause) ? cause.code : (error as Error).name;
  }
}

const results: Record<string, string> = {};
results.scheduleNaN = await outcome(() => rw.schedule(() => 1, { key: 'slow', cost: Number.NaN }));
results.scheduleInfinity = await outcome(() => rw.schedule(() => 1, { key: 'slow', cost: Infinity }));
results.scheduleAfterInfinity = await outcome(() => rw.schedule(() => 1, { key: 'slow' }));
results.schedule1e300 = await outcome(() => rw.schedule(() => 1, { key: 'slow', cost: 1e300 }));
results.scheduleAfter1e300 = await outcome(() => rw.schedule(() => 1, { key: 'slow', maxWait: 1000 }));
results.fetch1e16 = await outcome(() => rw.fetch('https://api.test/', { ratewise: { cost: 1e16 } }));
results.fetchAfter1e16 = await outcome(() => rw.fetch('https://api.test/', { ratewise: { maxWait: 1000 } }));
results.axios1e16 = await outcome(() => api.get('https://axios.test/', { ratewise: { cost: 1e16 } }));
results.axiosAfter1e16 = await outcome(() => api.get('https://axios.test/', { ratewise: { maxWait: 1000 } }));
// Waits for its debt, on a timer: it must not keep the timers below from firing.
void rw.fetch('https://api.test/');

let turns = 0;
const turn = (): void => {
  if (++turns < 10) {
    setTimeout(turn, 0);
    return;
  }
  console.log(JSON.stringify({ turns, results }));
  process.exit(0);
};
setTimeout(turn, 0);
