// What the clients of one origin learnt of its routes, kept in Redis beside the origin's budget: the hash
// `prefix{key}:routes`, whose fields are `h` (the policy group the origin's budget stands for), `g:<name>` (a policy
// name merged into the group `<value>`) and `r:<route>` (the bucket the server named for the route). One script call
// records what a client learnt and returns everything kept. The first learner of the host group and of a name's group
// wins (the clients then agree on the budgets' keys); a route's bucket is the latest learnt (a route may move).
// Bounded: past `max` routes (and four times as many names), the hash starts afresh with what this call brings.
import type { StoreRoutes } from './types.js';

/** A day: what no client has touched for that long is let go. */
const KEEP_MS = 86_400_000;

export const ROUTES_SCRIPT = `
local key = KEYS[1]
local max = tonumber(ARGV[1]) or 1000
local kind = redis.call('TYPE', key)['ok']
if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', key) end
local nroutes = tonumber(ARGV[3]) or 0
local ngroups = tonumber(ARGV[4]) or 0
if redis.call('HLEN', key) + nroutes + ngroups > 5 * max + 1 then redis.call('DEL', key) end
if ARGV[2] ~= '' then redis.call('HSETNX', key, 'h', ARGV[2]) end
local at = 5
for i = 1, nroutes do
  redis.call('HSET', key, 'r:' .. ARGV[at], ARGV[at + 1]); at = at + 2
end
for i = 1, ngroups do
  redis.call('HSETNX', key, 'g:' .. ARGV[at], ARGV[at + 1]); at = at + 2
end
if redis.call('EXISTS', key) == 1 then redis.call('PEXPIRE', key, ${KEEP_MS}) end
return redis.call('HGETALL', key)
`;

/** The script's arguments for what a client learnt. */
export function routesArguments(learned: StoreRoutes, max: number): string[] {
  const args = [String(max), learned.host ?? '', String(learned.routes.length), String(learned.groups.length)];
  for (const [route, bucket] of learned.routes) args.push(route, bucket);
  for (const [name, group] of learned.groups) args.push(name, group);
  return args;
}

/** The hash as the script returned it (a flat list of fields and values, or a record), as routes kept. */
export function routesOf(reply: unknown, max: number): StoreRoutes {
  const pairs: [string, string][] = [];
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), String(reply[i + 1])]);
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [field, value] of Object.entries(reply)) pairs.push([field, String(value)]);
  } else {
    throw new TypeError('ratewise: unexpected reply from Redis');
  }
  let host: string | undefined;
  const groups: [string, string][] = [];
  const routes: [string, string][] = [];
  for (const [field, value] of pairs) {
    if (field === 'h') host = value;
    else if (field.startsWith('g:') && groups.length < 4 * max) groups.push([field.slice(2), value]);
    else if (field.startsWith('r:') && routes.length < max) routes.push([field.slice(2), value]);
  }
  return { host, groups, routes };
}
