// Which component renders which route.
import type { Match } from '../router';
import type { RouteName } from '../routes';
import { useApp } from '../context';
import { LoginPage } from './login';

export function Page({ match }: { match: Match<RouteName> | undefined }) {
  const { t } = useApp();
  switch (match?.name) {
    case 'login':
      return <LoginPage />;
    case 'home':
    case 'studies':
      return <h1>{t('nav.studies')}</h1>;
    default:
      return <NotFound />;
  }
}

export function NotFound() {
  const { t } = useApp();
  return (
    <>
      <h1>{t('notFound.title')}</h1>
      <p>{t('notFound.body')}</p>
      <p>
        <a href="/studies">{t('notFound.home')}</a>
      </p>
    </>
  );
}
