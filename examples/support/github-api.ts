// The GitHub API the Octokit example talks to: a local server on 127.0.0.1 that answers as GitHub documents its rate
// limits (`x-ratelimit-*` with `x-ratelimit-resource`, a 403 when a quota is spent, a quota per resource). It is the
// test suite's own (test/support/github-server.ts).
export { startGitHubServer } from '../../test/support/github-server.js';
export type { GitHubServer } from '../../test/support/github-server.js';
