// Octokit (@octokit/core) over rw.fetch, against a local server that answers as GitHub documents its rate limits:
// `x-ratelimit-*` fields naming the quota each answer counts against (`x-ratelimit-resource`), and a 403 with
// `x-ratelimit-remaining: 0` once a quota is spent. Its quotas are GitHub's scaled down: 20 core requests and 10
// searches per 2 s (GitHub's: 5,000 per hour, 30 searches per minute). 12 searches and 30 issues at once: ratewise
// reads each answer's quota and paces search and core apart (the issues go while the last searches wait for theirs),
// and the server refuses nothing.
// Run: npx tsx examples/octokit.ts
import { Octokit } from '@octokit/core';
import { createRatewise } from 'ratewise';
import { startGitHubServer } from './support/github-api.js';

const server = await startGitHubServer({
  quotas: { core: { limit: 20, windowMs: 2_000 }, search: { limit: 10, windowMs: 2_000 } },
});

// A spent quota's reset is waited for, up to 65 minutes away (GitHub's can be an hour away), rather than failing.
const rw = createRatewise({ retry: { maxRetryAfter: 65 * 60_000 } });
// @octokit/core has no retry or throttling plugin: ratewise's retries are the only ones.
const octokit = new Octokit({ auth: 'example', baseUrl: server.url, request: { fetch: rw.fetch } });

const repo = { owner: 'octo', repo: 'hello' };
const [searches, issues] = await Promise.all([
  Promise.all(Array.from({ length: 12 }, (_, i) => octokit.request('GET /search/issues', { q: `label:${i}` }))),
  Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', { ...repo, issue_number: i + 1 }),
    ),
  ),
]);
console.log(`${searches.length} searches, ${issues.length} issues`);
console.log(`refused: ${server.log().filter(({ refusedBy }) => refusedBy !== undefined).length}`);
// One budget per quota the server named, beside the host's own.
const budgets = rw.stats().map(({ key }) => key.replace(server.url, 'origin'));
console.log(`budgets: ${budgets.sort().join(', ')}`);
await rw.close();
await server.close();
