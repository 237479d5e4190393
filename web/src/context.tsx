// What every page needs: the API client, the session, the runtime config, the language and who is logged in.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api/client';
import type { components } from './api/schema';
import type { RuntimeConfig } from './config';
import type { Locale, Translate } from './i18n';
import type { Session } from './session';

export type Me = components['schemas']['MeView'];

export interface AppContext {
  readonly api: Api;
  readonly session: Session;
  readonly config: RuntimeConfig;
  readonly locale: Locale;
  readonly t: Translate;
  readonly me: Me | undefined;
  /** Fetch GET /me again (after a profile edit changes the locale, for example). */
  readonly reloadMe: () => Promise<void>;
}

export const Context = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const value = useContext(Context);
  if (!value) throw new Error('useApp outside <Context.Provider>');
  return value;
}
