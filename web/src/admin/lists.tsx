// Research IT's paged lists: researchers (make admin, disable), every study with its quota override, the fleet of
// workspaces by status, and the platform audit log.
import { useState } from 'preact/hooks';
import { ApiError, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { PAGE_SIZE, PagedSection, usePaged } from '../components/paged';
import { useApp } from '../context';
import { formatDateTime } from '../format';
import { navigate, useLocation } from '../router';
import type { AdminKey } from './messages';
import { parseQuota, STATUSES, statusFilter, type QuotaField } from './quota';
import { useText } from './text';

type Schemas = components['schemas'];
const sameId = (a: { id: string }, b: { id: string }) => a.id === b.id;

export function Researchers() {
  const { api, locale, me, reloadMe } = useApp();
  const t = useText();
  const [failure, setFailure] = useState<string | undefined>();
  const paged = usePaged((cursor) => unwrap(api.GET('/admin/researchers', { params: { query: { limit: PAGE_SIZE, cursor } } })), []);
  const change = async (researcher: Schemas['ResearcherAdminView'], body: Schemas['ResearcherAdminUpdate']) => {
    try {
      const updated = await unwrap(
        api.PATCH('/admin/researchers/{researcher_id}', { params: { path: { researcher_id: researcher.id } }, body }),
      );
      paged.replace(updated, sameId);
      setFailure(undefined);
      if (researcher.id === me?.id) await reloadMe();
    } catch (caught) {
      setFailure(caught instanceof ApiError ? caught.detail : String(caught));
    }
  };
  return (
    <PagedSection
      id="admin-researchers"
      title={t('admin.researchers')}
      paged={paged}
      empty={t('admin.none')}
      head={
        <>
          <th scope="col">{t('admin.col.name')}</th>
          <th scope="col">{t('admin.col.email')}</th>
          <th scope="col">{t('admin.col.role')}</th>
          <th scope="col">{t('admin.col.state')}</th>
          <th scope="col">{t('admin.col.created')}</th>
          <th scope="col">{t('admin.col.actions')}</th>
        </>
      }
      row={(r) => (
        <tr key={r.id}>
          <td>{r.name}</td>
          <td>{r.email}</td>
          <td>{t(r.is_admin ? 'admin.role.admin' : 'admin.role.researcher')}</td>
          <td>{t(r.disabled ? 'admin.state.disabled' : 'admin.state.active')}</td>
          <td>{formatDateTime(r.created_at, locale)}</td>
          <td class="actions">
            <button type="button" class="secondary" onClick={() => change(r, { is_admin: !r.is_admin })}>
              {t(r.is_admin ? 'admin.revoke' : 'admin.grant', { name: r.name })}
            </button>
            <button type="button" class="secondary" onClick={() => change(r, { disabled: !r.disabled })}>
              {t(r.disabled ? 'admin.enable' : 'admin.disable', { name: r.name })}
            </button>
          </td>
        </tr>
      )}
    >
      {failure && <p role="alert" class="error">{failure}</p>}
    </PagedSection>
  );
}

export function Studies() {
  const { api, locale } = useApp();
  const t = useText();
  const paged = usePaged((cursor) => unwrap(api.GET('/admin/studies', { params: { query: { limit: PAGE_SIZE, cursor } } })), []);
  return (
    <PagedSection
      id="admin-studies"
      title={t('admin.studies')}
      paged={paged}
      empty={t('admin.none')}
      head={
        <>
          <th scope="col">{t('admin.col.name')}</th>
          <th scope="col">{t('admin.col.created')}</th>
          <th scope="col">{t('admin.col.quota')}</th>
        </>
      }
      row={(study) => (
        <tr key={study.id}>
          <td>{study.name}</td>
          <td>{formatDateTime(study.created_at, locale)}</td>
          <td>
            <QuotaForm study={study} onSaved={(s) => paged.replace(s, sameId)} />
          </td>
        </tr>
      )}
    />
  );
}

function QuotaForm({ study, onSaved }: { study: Schemas['AdminStudyView']; onSaved: (s: Schemas['AdminStudyView']) => void }) {
  const { api } = useApp();
  const t = useText();
  const [values, setValues] = useState<Record<QuotaField, string>>({
    max_workspaces: study.max_workspaces === null ? '' : String(study.max_workspaces),
    max_vcpus: study.max_vcpus === null ? '' : String(study.max_vcpus),
  });
  const [errors, setErrors] = useState<Partial<Record<QuotaField, string>>>({});
  const [status, setStatus] = useState<string | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    const parsed = parseQuota(values);
    const local = Object.fromEntries(Object.entries(parsed.errors).map(([k, e]) => [k, t(`admin.error.${e}` as AdminKey)]));
    setErrors(local);
    if (Object.keys(local).length) return;
    try {
      await unwrap(api.PATCH('/admin/studies/{study_id}', { params: { path: { study_id: study.id } }, body: parsed.body }));
      onSaved({ ...study, ...parsed.body });
      setStatus(t('admin.saved'));
    } catch (caught) {
      if (!(caught instanceof ApiError)) throw caught;
      setErrors({
        max_workspaces: caught.fieldErrors('max_workspaces').join(' ') || undefined,
        max_vcpus: caught.fieldErrors('max_vcpus').join(' ') || undefined,
      });
      setStatus(caught.detail);
    }
  };
  const id = (field: QuotaField) => `quota-${study.id}-${field}`;
  return (
    <form class="inline" onSubmit={submit} noValidate>
      {(['max_workspaces', 'max_vcpus'] as const).map((field) => (
        <span key={field} class="field">
          <label for={id(field)}>{t(field === 'max_workspaces' ? 'admin.quota.workspaces' : 'admin.quota.vcpus')}</label>
          <input
            id={id(field)}
            inputMode="numeric"
            value={values[field]}
            aria-invalid={errors[field] ? 'true' : undefined}
            aria-describedby={`${id(field)}-hint${errors[field] ? ` ${id(field)}-error` : ''}`}
            onInput={(e) => setValues({ ...values, [field]: (e.target as HTMLInputElement).value })}
          />
          <span id={`${id(field)}-hint`} class="hint">
            {t('admin.quota.hint')}
          </span>
          {errors[field] && (
            <span id={`${id(field)}-error`} class="error">
              {errors[field]}
            </span>
          )}
        </span>
      ))}
      <button type="submit">{t('admin.quota.save', { name: study.name })}</button>
      <span role="status">{status}</span>
    </form>
  );
}

export function Workspaces() {
  const { api, locale } = useApp();
  const t = useText();
  const status = statusFilter(useLocation().query);
  const paged = usePaged(
    (cursor) => unwrap(api.GET('/admin/workspaces', { params: { query: { limit: PAGE_SIZE, cursor, ...(status ? { status } : {}) } } })),
    [status],
  );
  return (
    <PagedSection
      id="admin-workspaces"
      title={t('admin.workspaces')}
      paged={paged}
      empty={t('admin.none')}
      head={
        <>
          <th scope="col">{t('admin.col.name')}</th>
          <th scope="col">{t('admin.col.status')}</th>
          <th scope="col">{t('admin.col.study')}</th>
          <th scope="col">{t('admin.col.owner')}</th>
          <th scope="col">{t('admin.col.created')}</th>
        </>
      }
      row={(w) => (
        <tr key={w.id}>
          <td>{w.name}</td>
          <td>{w.status}</td>
          <td>{w.study_id}</td>
          <td>{w.owner_id}</td>
          <td>{formatDateTime(w.created_at, locale)}</td>
        </tr>
      )}
    >
      <label for="admin-status">{t('admin.status.label')}</label>{' '}
      <select
        id="admin-status"
        value={status ?? ''}
        onChange={(e) => {
          const chosen = (e.target as HTMLSelectElement).value;
          navigate(chosen ? `/admin/workspaces?status=${chosen}` : '/admin/workspaces', { replace: true });
        }}
      >
        <option value="">{t('admin.status.all')}</option>
        {STATUSES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </PagedSection>
  );
}

export function Audit() {
  const { api, locale } = useApp();
  const t = useText();
  const paged = usePaged((cursor) => unwrap(api.GET('/admin/audit', { params: { query: { limit: PAGE_SIZE, cursor } } })), []);
  return (
    <PagedSection
      id="admin-audit"
      title={t('admin.audit')}
      paged={paged}
      empty={t('admin.none')}
      head={
        <>
          <th scope="col">{t('admin.col.at')}</th>
          <th scope="col">{t('admin.col.actor')}</th>
          <th scope="col">{t('admin.col.action')}</th>
          <th scope="col">{t('admin.col.target')}</th>
          <th scope="col">{t('admin.col.outcome')}</th>
        </>
      }
      row={(entry) => (
        <tr key={entry.id}>
          <td>{formatDateTime(entry.at, locale)}</td>
          <td>{entry.actor_id}</td>
          <td>{entry.action}</td>
          <td>{entry.target}</td>
          <td>{entry.outcome}</td>
        </tr>
      )}
    />
  );
}
