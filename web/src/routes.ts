// Every page of the console, by path. Pages that need no login say so.
import type { Route } from './router';

export const ROUTES = [
  { name: 'home', pattern: '/' },
  { name: 'login', pattern: '/login' },
  { name: 'studies', pattern: '/studies' },
  { name: 'studyNew', pattern: '/studies/new' },
  { name: 'study', pattern: '/studies/:studyId' },
  { name: 'studyEdit', pattern: '/studies/:studyId/edit' },
  { name: 'workspaceNew', pattern: '/studies/:studyId/workspaces/new' },
  { name: 'workspace', pattern: '/studies/:studyId/workspaces/:workspaceId' },
  { name: 'workspaces', pattern: '/workspaces' },
  { name: 'uploads', pattern: '/uploads' },
  { name: 'invitationAccept', pattern: '/invitations/accept' },
  { name: 'profile', pattern: '/profile' },
  // Research IT's pages (another helper's part) go under /admin.
  { name: 'admin', pattern: '/admin' },
] as const satisfies readonly Route[];

export type RouteName = (typeof ROUTES)[number]['name'];

export const PUBLIC_ROUTES: ReadonlySet<RouteName> = new Set<RouteName>(['login']);
