// Research IT's catalog editor: every kind's entries, editing one, adding one, withdrawing one from new requests.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { useApp } from '../context';
import { formatMoney } from '../format';
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
import type { AdminKey } from './messages';
import { useText } from './text';

type Schemas = components['schemas'];

export function Catalog() {
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
