// Studies: the list, creating and editing one, and a study's page (members, invitations, workspaces, uploads,
// usage and audit are sections of it, each in its own module).
import { useState } from 'preact/hooks';
import { unwrap } from '../api/client';
import type { components } from '../api/schema';
import { ErrorSummary, Form, Loading, TextAreaField, TextField, useAction, useLoad } from '../components/forms';
import { PAGE_SIZE, PagedTable, usePaged } from '../components/paged';
import { useApp } from '../context';
import { formatDate } from '../format';
import { navigate, pathFor } from '../router';
import { Members } from './members';
import { Invitations } from './invitations';
import { StudyWorkspaces } from './workspaces';
import { StudyUploads, UploadLink } from './uploads';
import { StudyAudit, StudyUsage } from './usage';

export type Study = components['schemas']['StudyView'];
export type Role = NonNullable<Study['role']>;

const RANK: Record<string, number> = { viewer: 0, contributor: 1, admin: 2, owner: 3 };

/** Whether a member of this role may do what needs `needed` (the API's own order of roles). */
export function atLeast(role: string | null | undefined, needed: Role): boolean {
  return role !== null && role !== undefined && (RANK[role] ?? -1) >= RANK[needed]!;
}

export function StudiesPage() {
  const { api, t, locale } = useApp();
  const studies = usePaged((cursor) => unwrap(api.GET('/studies', { params: { query: { limit: PAGE_SIZE, cursor } } })), []);
  return (
    <>
      <h1>{t('nav.studies')}</h1>
      <p>
        <a class="button" href="/studies/new">
          {t('studies.new')}
        </a>
      </p>
      <PagedTable
        paged={studies}
        empty={t('studies.empty')}
        caption={t('studies.caption')}
        head={
          <>
            <th scope="col">{t('studies.name')}</th>
            <th scope="col">{t('studies.role')}</th>
            <th scope="col">{t('studies.field')}</th>
            <th scope="col">{t('studies.created')}</th>
          </>
        }
        row={(study) => (
          <tr key={study.id}>
            <td>
              <a href={pathFor('/studies/:studyId', { studyId: study.id })}>{study.name}</a>
            </td>
            <td>{study.role ? t(`role.${study.role}`) : '—'}</td>
            <td>{study.research_field ?? '—'}</td>
            <td>{formatDate(study.created_at, locale)}</td>
          </tr>
        )}
      />
    </>
  );
}

const STUDY_FIELDS = { name: 'studies.name', description: 'studies.description', research_field: 'studies.field' } as const;

function StudyForm({
  initial,
  submitLabel,
  onSave,
}: {
  initial?: Study;
  submitLabel: string;
  onSave: (body: { name: string; description: string; research_field: string | null }) => Promise<Study>;
}) {
  const { t } = useApp();
  const [name, setName] = useState(initial?.name ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [field, setField] = useState(initial?.research_field ?? '');
  const save = useAction(onSave);
  const labels = Object.fromEntries(Object.entries(STUDY_FIELDS).map(([k, v]) => [k, t(v)]));
  return (
    <Form
      onSubmit={async () => {
        const saved = await save.run({ name, description, research_field: field.trim() || null });
        if (saved) navigate(pathFor('/studies/:studyId', { studyId: saved.id }));
      }}
    >
      <ErrorSummary error={save.error} fields={labels} />
      <TextField name="name" label={t('studies.name')} required value={name} onValue={setName} error={save.error} />
      <TextAreaField name="description" label={t('studies.description')} value={description} onValue={setDescription} error={save.error} />
      <TextField name="research_field" label={t('studies.field')} hint={t('studies.fieldHint')} value={field} onValue={setField} error={save.error} />
      <div class="actions">
        <button type="submit" disabled={save.busy}>
          {submitLabel}
        </button>
        <a href={initial ? pathFor('/studies/:studyId', { studyId: initial.id }) : '/studies'}>{t('common.cancel')}</a>
      </div>
    </Form>
  );
}

export function NewStudyPage() {
  const { api, t } = useApp();
  return (
    <>
      <h1>{t('studies.new')}</h1>
      <StudyForm submitLabel={t('common.create')} onSave={(body) => unwrap(api.POST('/studies', { body }))} />
    </>
  );
}

export function EditStudyPage({ studyId }: { studyId: string }) {
  const { api, t } = useApp();
  const study = useLoad(() => unwrap(api.GET('/studies/{study_id}', { params: { path: { study_id: studyId } } })), [studyId]);
  if (!study.data) return <Loading error={study.error} />;
  const version = study.data.version;
  return (
    <>
      <h1>{t('studies.edit', { name: study.data.name })}</h1>
      <StudyForm
        initial={study.data}
        submitLabel={t('common.save')}
        onSave={(body) =>
          unwrap(api.PATCH('/studies/{study_id}', { params: { path: { study_id: studyId } }, body: { ...body, version } }))
        }
      />
    </>
  );
}

export function StudyPage({ studyId }: { studyId: string }) {
  const { api, t, locale, me } = useApp();
  const study = useLoad(() => unwrap(api.GET('/studies/{study_id}', { params: { path: { study_id: studyId } } })), [studyId]);
  const leave = useAction(async () => {
    await unwrap(api.DELETE('/studies/{study_id}/members/{researcher_id}', { params: { path: { study_id: studyId, researcher_id: me!.id } } }));
    navigate('/studies');
  });
  const remove = useAction(async () => {
    await unwrap(api.DELETE('/studies/{study_id}', { params: { path: { study_id: studyId } } }));
    navigate('/studies?deleted=1');
  });
  if (!study.data) return <Loading error={study.error} />;
  const s = study.data;
  return (
    <>
      <h1>{s.name}</h1>
      <ErrorSummary error={leave.error ?? remove.error} />
      <dl class="facts">
        <dt>{t('studies.role')}</dt>
        <dd>{s.role ? t(`role.${s.role}`) : '—'}</dd>
        <dt>{t('studies.description')}</dt>
        <dd>{s.description || '—'}</dd>
        <dt>{t('studies.field')}</dt>
        <dd>{s.research_field ?? '—'}</dd>
        <dt>{t('studies.members')}</dt>
        <dd>{s.member_count ?? '—'}</dd>
        <dt>{t('studies.created')}</dt>
        <dd>{formatDate(s.created_at, locale)}</dd>
      </dl>
      <div class="actions">
        {atLeast(s.role, 'admin') && (
          <a class="button secondary" href={pathFor('/studies/:studyId/edit', { studyId })}>
            {t('common.edit')}
          </a>
        )}
        {s.role !== 'owner' && (
          <button type="button" class="secondary" disabled={leave.busy} onClick={() => confirm(t('studies.leaveConfirm')) && leave.run()}>
            {t('studies.leave')}
          </button>
        )}
        {s.role === 'owner' && (
          <button type="button" class="danger" disabled={remove.busy} onClick={() => confirm(t('studies.deleteConfirm', { name: s.name })) && remove.run()}>
            {t('studies.delete')}
          </button>
        )}
      </div>
      <StudyUsage studyId={studyId} />
      <StudyWorkspaces study={s} />
      <Members study={s} onChanged={study.reload} />
      {atLeast(s.role, 'admin') && <Invitations study={s} />}
      {atLeast(s.role, 'contributor') && <UploadLink study={s} onChanged={study.reload} />}
      <StudyUploads study={s} />
      {atLeast(s.role, 'admin') && <StudyAudit studyId={studyId} />}
    </>
  );
}
