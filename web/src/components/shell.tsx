// The frame around every page: a skip link, the navigation once logged in, and the main landmark.
import type { ComponentChildren } from 'preact';
import { unwrap } from '../api/client';
import { useApp } from '../context';
import { navigate } from '../router';

export function Shell({ loggedIn, children }: { loggedIn: boolean; children: ComponentChildren }) {
  const { t, me, api, session } = useApp();
  const logout = async () => {
    // The session ends here whatever the API says: a token it no longer knows is as good as gone.
    await unwrap(api.POST('/auth/logout')).catch(() => undefined);
    session.end();
    navigate('/login?logged_out=1');
  };
  return (
    <>
      <a class="skip" href="#main">
        {t('nav.skip')}
      </a>
      <header class="top">
        <a class="brand" href="/">
          {t('app.title')}
        </a>
        {loggedIn && (
          <nav aria-label="Main">
            <ul>
              <li>
                <a href="/studies">{t('nav.studies')}</a>
              </li>
              <li>
                <a href="/workspaces">{t('nav.workspaces')}</a>
              </li>
              <li>
                <a href="/uploads">{t('nav.uploads')}</a>
              </li>
              <li>
                <a href="/profile">{t('nav.profile')}</a>
              </li>
              {me?.is_admin && (
                <li>
                  <a href="/admin">{t('nav.admin')}</a>
                </li>
              )}
            </ul>
          </nav>
        )}
        {loggedIn && me && (
          <div class="who">
            <span>{me.name}</span>
            <button type="button" class="secondary" onClick={logout}>
              {t('nav.logout')}
            </button>
          </div>
        )}
      </header>
      <main id="main" class="page" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
