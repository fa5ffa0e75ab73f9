// The shape of a request's route, as servers that count per route see it: the method and the path with its ids
// folded, so that `GET /repos/1/issues` and `GET /repos/2/issues` are one route (as Discord's clients group routes).
// Pure.

/** Segments kept of a path: a route is named by its first few; deeper ones rarely change the quota. */
const MAX_SEGMENTS = 12;
/** Longest segment kept as it is: a longer one is an id or a token, not a route's name. */
const MAX_SEGMENT_LENGTH = 64;

const NUMBER = /^\d+$/;
const UUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;
/** Hexadecimal ids (object ids, hashes): long, and with a digit among the letters. */
const HEX_ID = /^(?=[a-f]*\d)[\da-f]{8,}$/i;

/** `GET /repos/:id/issues` for `GET` and `/repos/1234/issues`: numbers, UUIDs and hex ids folded to `:id`. */
export function routeShape(method: string, pathname: string): string {
  let shape = method;
  let kept = 0;
  for (const segment of pathname.split('/')) {
    if (segment === '') continue;
    if (++kept > MAX_SEGMENTS) break;
    const folded =
      segment.length > MAX_SEGMENT_LENGTH || NUMBER.test(segment) || UUID.test(segment) || HEX_ID.test(segment)
        ? ':id'
        : segment;
    shape += (kept === 1 ? ' /' : '/') + folded;
  }
  return kept === 0 ? `${method} /` : shape;
}

/**
 * The route of one call on its origin, for the quotas a server names per route: its shape is worked out when first
 * asked (most calls never need it).
 */
export interface CallRoute {
  readonly origin: string;
  readonly method: string;
  readonly pathname: string;
  /** Whether answers naming a quota teach the origin's routes (false for a route the user configured). */
  readonly learn: boolean;
  shape?: string;
}

/** The call's route shape (see {@link routeShape}), worked out once. */
export function shapeOf(route: CallRoute): string {
  return (route.shape ??= routeShape(route.method, route.pathname));
}
