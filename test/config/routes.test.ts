// A budget's `routes`: patterns compiled once, matched per request; bad patterns fail with the pattern named.
import { describe, expect, it } from 'vitest';
import { compileRoutes, matchRoute, MAX_ROUTES } from '../../src/config/routes.js';
import { createRatewise } from '../../src/client.js';

const NAME = 'budgets["api.test"].routes';

describe('compileRoutes and matchRoute', () => {
  const rules = compileRoutes(
    {
      'GET /search/**': 'search',
      '/users/*/repos': 'repos',
      'post /items': 'writes',
      '/items/': 'items',
      '/**': 'rest',
    },
    NAME,
  );

  it.each([
    ['GET', '/search/code', 'search'],
    ['GET', '/search', 'search'], // `**` matches no segment too
    ['GET', '/search/a/b/c', 'search'],
    ['POST', '/search/code', 'rest'], // the method is part of the pattern
    ['GET', '/users/octocat/repos', 'repos'],
    ['GET', '/users/octocat/repos/x', 'rest'], // `*` is one segment, not more
    ['POST', '/items', 'writes'], // methods are upper-cased
    ['GET', '/items', 'items'], // a trailing slash changes nothing
    ['GET', '//items//', 'items'],
    ['GET', '/anything', 'rest'],
  ])('%s %s → %s (the first pattern that matches)', (method, path, bucket) => {
    expect(matchRoute(rules, method, path)).toBe(bucket);
  });

  it('matches nothing without rules, or when no pattern fits', () => {
    expect(matchRoute([], 'GET', '/search')).toBeUndefined();
    expect(matchRoute(compileRoutes({ '/a/*': 'a' }, NAME), 'GET', '/a')).toBeUndefined();
    expect(compileRoutes(undefined, NAME)).toEqual([]);
  });

  it.each([
    [{ 'search/**': 'search' }, 'a path that starts with "/"'],
    [{ 'GET PUT /x': 'x' }, '"METHOD /path" or "/path"'],
    [{ 'G3T /x': 'x' }, 'led by an HTTP method'],
    [{ '/a/**/b': 'x' }, 'with `**` only at its end'],
    [{ '/a?b=1': 'x' }, 'without a query'],
    [{ '/a': '' }, 'a bucket name'],
    [{ '/a': 7 }, 'got number'],
    [{ '/a': 'x'.repeat(201) }, 'at most 200'],
  ])('refuses %j with a TypeError that names it (%s)', (routes, why) => {
    expect(() => compileRoutes(routes, NAME)).toThrow(TypeError);
    expect(() => compileRoutes(routes, NAME)).toThrow(why);
    expect(() => compileRoutes(routes, NAME)).toThrow(NAME);
  });

  it('refuses what is not an object of patterns, and more than the most patterns', () => {
    expect(() => compileRoutes(['/a'], NAME)).toThrow(TypeError);
    expect(() => compileRoutes('/a', NAME)).toThrow(TypeError);
    const many = Object.fromEntries(Array.from({ length: MAX_ROUTES + 1 }, (_, i) => [`/r${i}`, 'b']));
    expect(() => compileRoutes(many, NAME)).toThrow(`at most ${MAX_ROUTES}`);
  });

  it('refuses routes beside a rate or a shared cap, which apply to the whole host', () => {
    expect(() => createRatewise({ budgets: { 'api.test': { routes: { '/a': 'a' }, rate: '1/s' } } })).toThrow(
      /routes.*without.*rate/,
    );
    expect(() => createRatewise({ budgets: { 'api.test': { routes: { '/a': 'a' }, sharedConcurrency: 2 } } })).toThrow(
      /routes.*without.*sharedConcurrency/,
    );
  });
});
