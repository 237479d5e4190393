// Research IT's pages (what Django admin gave them): researchers, every study with its quota override, the fleet
// of workspaces by status, the catalog editor and the platform audit log. Only for platform admins.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { useApp } from '../context';
import { formatDateTime, formatMoney } from '../format';
import { navigate, useLocation } from '../router';
import {
  FIELDS,
  formFor,
  KINDS,
  LIST_OF,
  toBody,
  type CatalogItem,
  type CatalogKind,
  type FormValues,
  type LocalError,
} from './catalog';
import { adminTranslator, type AdminKey, type AdminTranslate } from './messages';
import './admin.css';
import { parseQuota, STATUSES, statusFilter, type QuotaField } from './quota';

type Schemas = components['schemas'];

export const SECTIONS = ['researchers', 'studies', 'workspaces', 'catalog', 'audit'] as const;
export type Section = (typeof SECTIONS)[number];

function useText(): AdminTranslate {
  const { locale } = useApp();
  return useMemo(() => adminTranslator(locale), [locale]);
}

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

interface Paged<T> {
  items: T[];
  error: ApiError | undefined;
  loading: boolean;
  more: (() => void) | undefined;
  replace: (item: T, same: (a: T, b: T) => boolean) => void;
}

/** A list of the API's pages: the first page, then the next on "Show more". */
function usePaged<T>(load: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>, key: string): Paged<T> {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | undefined>();
  const [loading, setLoading] = useState(true);
  const fetchPage = useCallback(
    (from: string | undefined, append: boolean) => {
      setLoading(true);
      load(from)
        .then((page) => {
          setItems((before) => (append ? [...before, ...page.items] : page.items));
          setCursor(page.next_cursor);
          setError(undefined);
        })
        .catch((caught: unknown) => setError(caught instanceof ApiError ? caught : undefined))
        .finally(() => setLoading(false));
    },
    // `key` names what the loader depends on (a new loader function comes with every render).
    [key],
  );
  useEffect(() => fetchPage(undefined, false), [fetchPage]);
  return {
    items,
    error,
    loading,
    more: cursor ? () => fetchPage(cursor, true) : undefined,
    replace: (item, same) => setItems((before) => before.map((old) => (same(old, item) ? item : old))),
  };
}

function ListFrame<T>({ paged, children }: { paged: Paged<T>; children: ComponentChildren }) {
  const t = useText();
  return (
    <>
      {paged.error && <p role="alert" class="error">{paged.error.detail}</p>}
      {children}
      {!paged.loading && paged.items.length === 0 && !paged.error && <p>{t('admin.none')}</p>}
      {paged.loading && <p role="status">{t('admin.loading')}</p>}
      {paged.more && !paged.loading && (
        <button type="button" class="secondary" onClick={paged.more}>
          {t('admin.more')}
        </button>
      )}
    </>
  );
}

function Researchers() {
  const { api, locale, me, reloadMe } = useApp();
  const t = useText();
  const [failure, setFailure] = useState<string | undefined>();
  const paged = usePaged<Schemas['ResearcherAdminView']>(
    (cursor) => unwrap(api.GET('/admin/researchers', { params: { query: { cursor } } })),
    'researchers',
  );
  const change = async (researcher: Schemas['ResearcherAdminView'], body: Schemas['ResearcherAdminUpdate']) => {
    try {
      const updated = await unwrap(
        api.PATCH('/admin/researchers/{researcher_id}', { params: { path: { researcher_id: researcher.id } }, body }),
      );
      paged.replace(updated, (a, b) => a.id === b.id);
      setFailure(undefined);
      if (researcher.id === me?.id) await reloadMe();
    } catch (caught) {
      setFailure(caught instanceof ApiError ? caught.detail : String(caught));
    }
  };
  return (
    <section aria-labelledby="admin-researchers">
      <h2 id="admin-researchers">{t('admin.researchers')}</h2>
      {failure && <p role="alert" class="error">{failure}</p>}
      <ListFrame paged={paged}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('admin.col.name')}</th>
              <th scope="col">{t('admin.col.email')}</th>
              <th scope="col">{t('admin.col.role')}</th>
              <th scope="col">{t('admin.col.state')}</th>
              <th scope="col">{t('admin.col.created')}</th>
              <th scope="col">{t('admin.col.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {paged.items.map((r) => (
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
            ))}
          </tbody>
        </table>
      </ListFrame>
    </section>
  );
}

function Studies() {
  const { api, locale } = useApp();
  const t = useText();
  const paged = usePaged<Schemas['AdminStudyView']>(
    (cursor) => unwrap(api.GET('/admin/studies', { params: { query: { cursor } } })),
    'studies',
  );
  return (
    <section aria-labelledby="admin-studies">
      <h2 id="admin-studies">{t('admin.studies')}</h2>
      <ListFrame paged={paged}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('admin.col.name')}</th>
              <th scope="col">{t('admin.col.created')}</th>
              <th scope="col">{t('admin.col.quota')}</th>
            </tr>
          </thead>
          <tbody>
            {paged.items.map((study) => (
              <tr key={study.id}>
                <td>{study.name}</td>
                <td>{formatDateTime(study.created_at, locale)}</td>
                <td>
                  <QuotaForm study={study} onSaved={(s) => paged.replace(s, (a, b) => a.id === b.id)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ListFrame>
    </section>
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

function Workspaces() {
  const { api, locale } = useApp();
  const t = useText();
  const location = useLocation();
  const status = statusFilter(location.query);
  const paged = usePaged<Schemas['WorkspaceView']>(
    (cursor) =>
      unwrap(api.GET('/admin/workspaces', { params: { query: { cursor, ...(status ? { status } : {}) } } })) as Promise<{
        items: Schemas['WorkspaceView'][];
        next_cursor: string | null;
      }>,
    `workspaces-${status ?? ''}`,
  );
  return (
    <section aria-labelledby="admin-workspaces">
      <h2 id="admin-workspaces">{t('admin.workspaces')}</h2>
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
      <ListFrame paged={paged}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('admin.col.name')}</th>
              <th scope="col">{t('admin.col.status')}</th>
              <th scope="col">{t('admin.col.study')}</th>
              <th scope="col">{t('admin.col.owner')}</th>
              <th scope="col">{t('admin.col.created')}</th>
            </tr>
          </thead>
          <tbody>
            {paged.items.map((w) => (
              <tr key={w.id}>
                <td>{w.name}</td>
                <td>{w.status}</td>
                <td>{w.study_id}</td>
                <td>{w.owner_id}</td>
                <td>{formatDateTime(w.created_at, locale)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ListFrame>
    </section>
  );
}

function Audit() {
  const { api, locale } = useApp();
  const t = useText();
  const paged = usePaged<Schemas['PlatformAuditView']>(
    (cursor) => unwrap(api.GET('/admin/audit', { params: { query: { cursor } } })),
    'audit',
  );
  return (
    <section aria-labelledby="admin-audit">
      <h2 id="admin-audit">{t('admin.audit')}</h2>
      <ListFrame paged={paged}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('admin.col.at')}</th>
              <th scope="col">{t('admin.col.actor')}</th>
              <th scope="col">{t('admin.col.action')}</th>
              <th scope="col">{t('admin.col.target')}</th>
              <th scope="col">{t('admin.col.outcome')}</th>
            </tr>
          </thead>
          <tbody>
            {paged.items.map((entry) => (
              <tr key={entry.id}>
                <td>{formatDateTime(entry.at, locale)}</td>
                <td>{entry.actor_id}</td>
                <td>{entry.action}</td>
                <td>{entry.target}</td>
                <td>{entry.outcome}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ListFrame>
    </section>
  );
}

function Catalog() {
  const { api, locale } = useApp();
  const t = useText();
  const [catalog, setCatalog] = useState<Schemas['CatalogView'] | undefined>();
  const [editing, setEditing] = useState<{ kind: CatalogKind; item?: CatalogItem } | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  const reload = useCallback(() => {
    unwrap(api.GET('/catalog'))
      .then(setCatalog)
      .catch((caught: unknown) => setFailure(caught instanceof ApiError ? caught.detail : String(caught)));
  }, [api]);
  useEffect(reload, [reload]);
  const withdraw = async (kind: CatalogKind, item: CatalogItem) => {
    if (!window.confirm(t('admin.catalog.withdrawConfirm', { name: item.name }))) return;
    try {
      await unwrap(api.DELETE('/admin/catalog/{kind}/{item_id}', { params: { path: { kind, item_id: item.id } } }));
      reload();
    } catch (caught) {
      setFailure(caught instanceof ApiError ? caught.detail : String(caught));
    }
  };
  return (
    <section aria-labelledby="admin-catalog">
      <h2 id="admin-catalog">{t('admin.catalog')}</h2>
      {failure && <p role="alert" class="error">{failure}</p>}
      {editing && (
        <CatalogForm
          kind={editing.kind}
          item={editing.item}
          onDone={(saved) => {
            setEditing(undefined);
            if (saved) reload();
          }}
        />
      )}
      {!catalog && !failure && <p role="status">{t('admin.loading')}</p>}
      {catalog &&
        KINDS.map((kind) => (
          <section key={kind} aria-labelledby={`catalog-${kind}`}>
            <h3 id={`catalog-${kind}`}>{t(`admin.kind.${kind}` as AdminKey)}</h3>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('admin.field.id')}</th>
                  <th scope="col">{t('admin.col.name')}</th>
                  <th scope="col">{t('admin.col.price')}</th>
                  <th scope="col">{t('admin.col.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {(catalog[LIST_OF[kind]] as CatalogItem[]).map((item) => (
                  <tr key={item.id}>
                    <td>{item.id}</td>
                    <td>{item.name}</td>
                    <td>{formatMoney(item.price_per_day, locale, catalog.currency)}</td>
                    <td class="actions">
                      <button type="button" class="secondary" onClick={() => setEditing({ kind, item })}>
                        {t('admin.catalog.edit', { name: item.name })}
                      </button>
                      <button type="button" class="secondary" onClick={() => withdraw(kind, item)}>
                        {t('admin.catalog.withdraw', { name: item.name })}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <button type="button" onClick={() => setEditing({ kind })}>
              {t('admin.catalog.new')} ({t(`admin.kind.${kind}` as AdminKey)})
            </button>
          </section>
        ))}
    </section>
  );
}

function CatalogForm({ kind, item, onDone }: { kind: CatalogKind; item?: CatalogItem; onDone: (saved: boolean) => void }) {
  const { api } = useApp();
  const t = useText();
  const [values, setValues] = useState<FormValues>(() => formFor(kind, item));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [summary, setSummary] = useState<string | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    const { body, errors: local } = toBody(kind, values);
    const shown = Object.fromEntries(
      Object.entries(local).map(([field, error]: [string, LocalError]) => [field, t(`admin.error.${error}` as AdminKey)]),
    );
    setErrors(shown);
    if (Object.keys(shown).length) {
      setSummary(t('admin.error.summary'));
      return;
    }
    try {
      await unwrap(
        api.PUT('/admin/catalog/{kind}/{item_id}', {
          params: { path: { kind, item_id: (values.id ?? '').trim() } },
          body,
        }),
      );
      onDone(true);
    } catch (caught) {
      if (!(caught instanceof ApiError)) throw caught;
      setErrors(Object.fromEntries(Object.entries(caught.errors).map(([field, messages]) => [field, messages.join(' ')])));
      setSummary(caught.detail);
    }
  };
  const fields: { key: string; type: 'text' | 'int' | 'bool' | 'price'; locked?: boolean }[] = [
    { key: 'id', type: 'text', locked: Boolean(item) },
    { key: 'name', type: 'text' },
    { key: 'price_per_day', type: 'price' },
    ...FIELDS[kind],
  ];
  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="catalog-form-title">
      <h3 id="catalog-form-title">{t('admin.catalog.formTitle', { kind: t(`admin.kind.${kind}` as AdminKey) })}</h3>
      {summary && (
        <p role="alert" class="error">
          {summary}
        </p>
      )}
      {fields.map((field) => {
        const id = `catalog-${field.key}`;
        const error = errors[field.key];
        const label = t(`admin.field.${field.key}` as AdminKey);
        if (field.type === 'bool') {
          return (
            <div class="field check" key={field.key}>
              <input
                type="checkbox"
                id={id}
                checked={values[field.key] === 'true'}
                aria-invalid={error ? 'true' : undefined}
                aria-describedby={error ? `${id}-error` : undefined}
                onChange={(e) => setValues({ ...values, [field.key]: String((e.target as HTMLInputElement).checked) })}
              />{' '}
              <label for={id}>{label}</label>
              {error && (
                <span id={`${id}-error`} class="error">
                  {error}
                </span>
              )}
            </div>
          );
        }
        return (
          <div class="field" key={field.key}>
            <label for={id}>{label}</label>
            <input
              id={id}
              name={field.key}
              value={values[field.key] ?? ''}
              readOnly={field.locked}
              inputMode={field.type === 'int' ? 'numeric' : field.type === 'price' ? 'decimal' : undefined}
              aria-invalid={error ? 'true' : undefined}
              aria-describedby={error ? `${id}-error` : undefined}
              onInput={(e) => setValues({ ...values, [field.key]: (e.target as HTMLInputElement).value })}
            />
            {error && (
              <span id={`${id}-error`} class="error">
                {error}
              </span>
            )}
          </div>
        );
      })}
      <button type="submit">{t('admin.catalog.save')}</button>{' '}
      <button type="button" class="secondary" onClick={() => onDone(false)}>
        {t('admin.catalog.cancel')}
      </button>
    </form>
  );
}
