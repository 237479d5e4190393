// The login page: a button to the API's /auth/login (which comes back with a login_code), and, when a login
// failed (`?error=<code>` from the broker's callback), why in plain words and a way to try again.
import { useApp } from '../context';
import { hasKey } from '../i18n';

/** The API's login URL, coming back to `next` (a path inside the console). */
export function loginUrl(apiBaseUrl: string, next: string): string {
  const safe = next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
  return `${apiBaseUrl}/auth/login?${new URLSearchParams({ next: safe }).toString()}`;
}

/** The sentence for a failed login's error code; codes this console does not know still say something true. */
export function loginErrorKey(code: string): { key: Parameters<ReturnType<typeof useApp>['t']>[0]; known: boolean } {
  const key = `login.error.${code}`;
  return hasKey(key) ? { key, known: true } : { key: 'login.error.unknown', known: false };
}

export function LoginPage({ error, next }: { error?: string; next?: string }) {
  const { t, config } = useApp();
  const query = new URLSearchParams(window.location.search);
  const code = error ?? query.get('error') ?? undefined;
  const target = next ?? query.get('next') ?? '/';
  const failure = code ? loginErrorKey(code) : undefined;
  return (
    <>
      <h1>{t('login.title')}</h1>
      {query.get('logged_out') && !code && (
        <p class="notice" role="status">
          {t('logout.done')}
        </p>
      )}
      {failure && code && (
        <div class="error-summary" role="alert" tabIndex={-1} ref={(el) => el?.focus()}>
          <h2>{t('login.failedTitle')}</h2>
          <p>{t(failure.key, { code })}</p>
        </div>
      )}
      <p>{t('login.intro')}</p>
      <p>
        <a class="button" href={loginUrl(config.apiBaseUrl, target)} id="login">
          {code ? t('login.again') : t('login.button')}
        </a>
      </p>
    </>
  );
}
