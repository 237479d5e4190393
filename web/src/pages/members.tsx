// A study's members: their roles (changed by admins), removing one, and the owner handing the study over.
import { useState } from 'preact/hooks';
import { unwrap } from '../api/client';
import { ErrorSummary, Form, SelectField, useAction, useLoad } from '../components/forms';
import { fetchAll, PAGE_SIZE, PagedTable, usePaged } from '../components/paged';
import { useApp } from '../context';
import { formatDate } from '../format';
import { atLeast, type Study } from './studies';

const ASSIGNABLE = ['viewer', 'contributor', 'admin'] as const;
type Assignable = (typeof ASSIGNABLE)[number];

export function Members({ study, onChanged }: { study: Study; onChanged: () => void }) {
  const { api, t, locale, me } = useApp();
  const path = { study_id: study.id };
  const members = usePaged(
    (cursor) => unwrap(api.GET('/studies/{study_id}/members', { params: { path, query: { limit: PAGE_SIZE, cursor } } })),
    [study.id, study.version],
  );
  const change = useAction(async (researcherId: string, role: Assignable) => {
    const changed = await unwrap(api.PATCH('/studies/{study_id}/members/{researcher_id}', { params: { path: { ...path, researcher_id: researcherId } }, body: { role } }));
    members.replace(changed, (a, b) => a.researcher_id === b.researcher_id);
  });
  const remove = useAction(async (researcherId: string) => {
    await unwrap(api.DELETE('/studies/{study_id}/members/{researcher_id}', { params: { path: { ...path, researcher_id: researcherId } } }));
    members.reload();
    onChanged();
  });
  const manage = atLeast(study.role, 'admin');
  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">{t('members.title')}</h2>
      <ErrorSummary error={change.error ?? remove.error} />
      <PagedTable
        paged={members}
        labelledBy="members-title"
        head={
          <>
            <th scope="col">{t('members.name')}</th>
            <th scope="col">{t('members.email')}</th>
            <th scope="col">{t('studies.role')}</th>
            <th scope="col">{t('members.joined')}</th>
            {manage && <th scope="col">{t('members.actions')}</th>}
          </>
        }
        row={(member) => (
          <tr key={member.researcher_id}>
            <td>{member.name ?? member.researcher_id}</td>
            <td>{member.email ?? '—'}</td>
            <td>
              {manage && member.role !== 'owner' && member.researcher_id !== me?.id ? (
                <select
                  aria-label={t('members.roleOf', { name: member.name ?? member.researcher_id })}
                  value={member.role}
                  disabled={change.busy}
                  onChange={(event) => change.run(member.researcher_id, (event.target as HTMLSelectElement).value as Assignable)}
                >
                  {ASSIGNABLE.map((role) => (
                    <option key={role} value={role}>
                      {t(`role.${role}`)}
                    </option>
                  ))}
                </select>
              ) : (
                t(`role.${member.role}`)
              )}
            </td>
            <td>{formatDate(member.joined_at, locale)}</td>
            {manage && (
              <td>
                {member.role !== 'owner' && member.researcher_id !== me?.id && (
                  <button
                    type="button"
                    class="secondary"
                    disabled={remove.busy}
                    onClick={() => confirm(t('members.removeConfirm', { name: member.name ?? '' })) && remove.run(member.researcher_id)}
                  >
                    {t('members.remove')}
                  </button>
                )}
              </td>
            )}
          </tr>
        )}
      />
      {study.role === 'owner' && (
        <Transfer
          study={study}
          onChanged={() => {
            onChanged();
            members.reload();
          }}
        />
      )}
    </section>
  );
}

/** The owner hands the study to another member (any member, not only those on the pages shown). */
function Transfer({ study, onChanged }: { study: Study; onChanged: () => void }) {
  const { api, t } = useApp();
  const path = { study_id: study.id };
  const members = useLoad(
    () => fetchAll((cursor) => unwrap(api.GET('/studies/{study_id}/members', { params: { path, query: { limit: 100, cursor } } }))),
    // A member removed changes the count (the study is fetched again then).
    [study.id, study.version, study.member_count],
  );
  const [newOwner, setNewOwner] = useState('');
  const transfer = useAction(async () => {
    await unwrap(api.POST('/studies/{study_id}/transfer', { params: { path }, body: { researcher_id: newOwner } }));
    onChanged();
  });
  const others = members.data?.filter((m) => m.role !== 'owner') ?? [];
  if (others.length === 0) return null;
  return (
    <Form onSubmit={() => newOwner && confirm(t('members.transferConfirm')) && transfer.run()} label={t('members.transfer')}>
      <h3>{t('members.transfer')}</h3>
      <ErrorSummary error={transfer.error} />
      <SelectField
        name="researcher_id"
        label={t('members.newOwner')}
        hint={t('members.transferHint')}
        value={newOwner}
        onValue={setNewOwner}
        error={transfer.error}
        options={[{ value: '', label: '—' }, ...others.map((m) => ({ value: m.researcher_id, label: m.name ?? m.email ?? m.researcher_id }))]}
      />
      <div class="actions">
        <button type="submit" disabled={transfer.busy || !newOwner}>
          {t('members.transfer')}
        </button>
      </div>
    </Form>
  );
}
