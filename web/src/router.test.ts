import { describe, expect, it } from 'vitest';
import { matchRoute, pathFor } from './router';
import { ROUTES } from './routes';

describe('matchRoute', () => {
  it('matches literal routes before parameters and decodes parameters', () => {
    expect(matchRoute(ROUTES, '/studies/new')).toEqual({ name: 'studyNew', params: {} });
    expect(matchRoute(ROUTES, '/studies/st%20x/')).toEqual({ name: 'study', params: { studyId: 'st x' } });
    expect(matchRoute(ROUTES, '/studies/s1/workspaces/w1')).toEqual({
      name: 'workspace',
      params: { studyId: 's1', workspaceId: 'w1' },
    });
    expect(matchRoute(ROUTES, '/')).toEqual({ name: 'home', params: {} });
  });

  it('matches nothing for unknown paths and undecodable parameters', () => {
    expect(matchRoute(ROUTES, '/nowhere')).toBeUndefined();
    expect(matchRoute(ROUTES, '/studies/%E0%A4%A')).toBeUndefined();
  });
});

describe('pathFor', () => {
  it('encodes parameters and refuses missing ones', () => {
    expect(pathFor('/studies/:studyId/edit', { studyId: 'a/b' })).toBe('/studies/a%2Fb/edit');
    expect(() => pathFor('/studies/:studyId')).toThrow(/studyId/);
  });
});
