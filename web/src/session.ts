// The session token from POST /auth/token, kept in localStorage so that a mailed link opened in a new tab is
// already logged in; dropped when it expires, on log out, and when the API refuses it.

const KEY = 'vre.session';

interface Stored {
  token: string;
  expiresAt: number;
}

export class Session {
  private readonly storage: Storage;
  private readonly now: () => number;
  private readonly listeners = new Set<() => void>();

  constructor(storage: Storage, now: () => number = Date.now) {
    this.storage = storage;
    this.now = now;
  }

  token(): string | undefined {
    const raw = this.storage.getItem(KEY);
    if (!raw) return undefined;
    try {
      const stored = JSON.parse(raw) as Stored;
      if (typeof stored.token === 'string' && stored.expiresAt > this.now()) return stored.token;
    } catch {
      // A value from another version of the console: drop it like an expired one.
    }
    this.storage.removeItem(KEY);
    return undefined;
  }

  start(token: string, expiresInSeconds: number): void {
    this.storage.setItem(KEY, JSON.stringify({ token, expiresAt: this.now() + expiresInSeconds * 1000 }));
    this.changed();
  }

  end(): void {
    this.storage.removeItem(KEY);
    this.changed();
  }

  rejected(): void {
    this.end();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
