// Research IT's pages (what Django admin gave them): researchers, every study with its quota override, the fleet
// of workspaces by status, the catalog editor and the platform audit log. Only for platform admins.
import { useApp } from '../context';
import { Catalog } from './catalog-page';
import { Audit, Researchers, Studies, Workspaces } from './lists';
import type { AdminKey } from './messages';
import { useText } from './text';
import './admin.css';

export const SECTIONS = ['researchers', 'studies', 'workspaces', 'catalog', 'audit'] as const;
export type Section = (typeof SECTIONS)[number];

export function AdminPage({ section }: { section: string | undefined }) {
  const { me } = useApp();
  const t = useText();
  if (!me?.is_admin) {
    return (
      <>
        <h1>{t('admin.title')}</h1>
        <p role="alert">{t('admin.forbidden')}</p>
      </>
    );
  }
  const current: Section = SECTIONS.find((s) => s === section) ?? 'researchers';
  return (
    <>
      <h1>{t('admin.title')}</h1>
      <nav aria-label={t('admin.nav')} class="admin-nav">
        <ul>
          {SECTIONS.map((s) => (
            <li key={s}>
              <a href={`/admin/${s}`} aria-current={s === current ? 'page' : undefined}>
                {t(`admin.${s}` as AdminKey)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {current === 'researchers' && <Researchers />}
      {current === 'studies' && <Studies />}
      {current === 'workspaces' && <Workspaces />}
      {current === 'catalog' && <Catalog />}
      {current === 'audit' && <Audit />}
    </>
  );
}
