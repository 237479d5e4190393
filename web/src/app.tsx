// The shell: trades a returning login_code, loads the researcher, picks the language, renders the page the path names.
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { createApi, unwrap } from './api/client';
import type { RuntimeConfig } from './config';
import { Context, type AppContext, type Me } from './context';
import { chooseLocale, translator } from './i18n';
import { matchRoute, navigate, useLocation } from './router';
import { PUBLIC_ROUTES, ROUTES } from './routes';
import { Session } from './session';
import { Shell } from './components/shell';
import { LoginPage } from './pages/login';
import { Page } from './pages/page';

export function App({ config }: { config: RuntimeConfig }) {
  const session = useMemo(() => new Session(window.localStorage), []);
  const api = useMemo(() => createApi(config.apiBaseUrl, session), [config, session]);
  const location = useLocation();
  const [token, setToken] = useState(() => session.token());
  const [me, setMe] = useState<Me | undefined>();
  const [tradeFailed, setTradeFailed] = useState(false);
  const loginCode = location.query.get('login_code');

  useEffect(() => session.subscribe(() => setToken(session.token())), [session]);

  // Back from the identity provider: trade the one-time code for a session, then drop it from the address bar.
  useEffect(() => {
    if (!loginCode) return;
    let cancelled = false;
    unwrap(api.POST('/auth/token', { body: { login_code: loginCode } }))
      .then((issued) => {
        if (cancelled) return;
        session.start(issued.access_token, issued.expires_in);
        const query = new URLSearchParams(window.location.search);
        query.delete('login_code');
        const rest = query.toString();
        navigate(window.location.pathname + (rest ? `?${rest}` : '') + window.location.hash, { replace: true });
      })
      .catch(() => {
        if (!cancelled) setTradeFailed(true);
      });
    return () => {
      cancelled = true;
    };
  }, [loginCode, api, session]);

  const reloadMe = useCallback(async () => {
    setMe(await unwrap(api.GET('/me')));
  }, [api]);

  useEffect(() => {
    if (!token) {
      setMe(undefined);
      return;
    }
    reloadMe().catch(() => undefined);
  }, [token, reloadMe]);

  const locale = chooseLocale(me?.locale, navigator.languages);
  const t = useMemo(() => translator(locale), [locale]);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);

  const context: AppContext = { api, session, config, locale, t, me, reloadMe };
  const match = matchRoute(ROUTES, location.path);

  let content: ComponentChildren;
  if (loginCode && !tradeFailed) {
    content = <p role="status">{t('login.trading')}</p>;
  } else if (tradeFailed && loginCode) {
    content = <LoginPage error="code" />;
  } else if (match && PUBLIC_ROUTES.has(match.name)) {
    content = <Page match={match} />;
  } else if (!token) {
    // Not logged in: the login page, coming back here afterwards (the invitation link keeps its token).
    content = <LoginPage next={location.path + window.location.search} />;
  } else if (!me) {
    content = <p role="status">{t('app.loading')}</p>;
  } else {
    content = <Page match={match} />;
  }

  return (
    <Context.Provider value={context}>
      <Shell loggedIn={Boolean(token && me)}>{content}</Shell>
    </Context.Provider>
  );
}

