// Which component renders which route.
import type { Match } from '../router';
import type { RouteName } from '../routes';
import { useApp } from '../context';
import { LoginPage } from './login';
import { EditStudyPage, NewStudyPage, StudiesPage, StudyPage } from './studies';
import { NewWorkspacePage, WorkspacePage, WorkspacesPage } from './workspaces';
import { UploadsPage } from './uploads';
import { AcceptInvitationPage } from './invitations';
import { ProfilePage } from './profile';
import { AdminPage } from '../admin/pages';

export function Page({ match }: { match: Match<RouteName> | undefined }) {
  const p = match?.params ?? {};
  switch (match?.name) {
    case 'login':
      return <LoginPage />;
    case 'home':
    case 'studies':
      return <StudiesPage />;
    case 'studyNew':
      return <NewStudyPage />;
    case 'study':
      return <StudyPage key={p.studyId} studyId={p.studyId!} />;
    case 'studyEdit':
      return <EditStudyPage studyId={p.studyId!} />;
    case 'workspaceNew':
      return <NewWorkspacePage studyId={p.studyId!} />;
    case 'workspace':
      return <WorkspacePage key={p.workspaceId} studyId={p.studyId!} workspaceId={p.workspaceId!} />;
    case 'workspaces':
      return <WorkspacesPage />;
    case 'uploads':
      return <UploadsPage />;
    case 'invitationAccept':
      return <AcceptInvitationPage token={new URLSearchParams(window.location.search).get('token')} />;
    case 'profile':
      return <ProfilePage />;
    case 'admin':
    case 'adminSection':
      return <AdminPage section={p.section} />;
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
