// The optional peer dependencies of the adapters and of `ratewise/otel`, looked for before the entry point loads, so
// that a missing one fails with what to install rather than with Node's bare ERR_MODULE_NOT_FOUND.

/** The version ranges of `peerDependencies` in package.json (a test keeps them equal). */
export const PEER_RANGES = { undici: '^7.0.0', axios: '^1.7.0', '@opentelemetry/api': '^1.9.0' } as const;

export type Peer = keyof typeof PEER_RANGES;

/** What a `require` (from `createRequire`) gives `requirePeer`: resolution only, nothing is loaded. */
export interface Resolver {
  resolve(id: string): string;
}

/**
 * Throws, when `peer` cannot be found from where `resolver` looks, an error that names the package and the range to
 * install; Node's own error (`code: 'ERR_MODULE_NOT_FOUND'`) is its `cause`.
 */
export function requirePeer(resolver: Resolver, entry: string, peer: Peer): void {
  try {
    resolver.resolve(peer);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    const range = PEER_RANGES[peer];
    const missing = new Error(
      `${entry} needs the ${peer} package (${range}), an optional peer dependency of ratewise that is not ` +
        `installed: npm install ${peer}@"${range}"`,
      { cause: error },
    );
    throw Object.assign(missing, { code: 'ERR_MODULE_NOT_FOUND' });
  }
}
