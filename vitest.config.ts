import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The package's own names ('ratewise', 'ratewise/axios', ...) resolve to the sources through tsconfig's `paths`, as
  // they do for tsc and tsx: a test can import the package as a user would, without a build.
  resolve: { tsconfigPaths: true },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // Hooks start real servers (redis-server, Python's Flask-Limiter) and build the package: on a loaded 2-core
    // machine that can take longer than the default 10 s.
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
