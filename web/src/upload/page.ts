// The upload page's small pure helpers: the code in its URL, and the reload-proof store of unfinished uploads.
import type { Session, SessionStore } from './uploader';

/** `/upload/<code>` → the code (decoded); '' when the link has none. */
export function codeFromPath(pathname: string): string {
  const match = /^\/upload\/([^/]+)\/?$/.exec(pathname);
  if (!match?.[1]) return '';
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return '';
  }
}

/** Unfinished uploads kept in sessionStorage: they survive a reload, not the tab's closing. */
export function sessionStore(storage: Storage): SessionStore {
  return {
    get(key) {
      const raw = storage.getItem(key);
      if (!raw) return undefined;
      try {
        const value = JSON.parse(raw) as Session;
        return typeof value.upload_id === 'string' && typeof value.upload_secret === 'string' ? value : undefined;
      } catch {
        return undefined;
      }
    },
    set(key, session) {
      storage.setItem(key, JSON.stringify(session));
    },
    delete(key) {
      storage.removeItem(key);
    },
  };
}
