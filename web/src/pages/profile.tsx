// The researcher's profile: name, research field, phone and the console's language; and API tokens, whose
// secret is shown once, when it is made.
import { useState } from 'preact/hooks';
import { unwrap } from '../api/client';
import type { components } from '../api/schema';
import { ErrorSummary, Form, SelectField, TextField, useAction } from '../components/forms';
import { PAGE_SIZE, PagedTable, usePaged } from '../components/paged';
import { useApp } from '../context';
import { formatDateTime } from '../format';
import { endOfDay } from './workspaces';

type Locale = components['schemas']['MeUpdate']['locale'];

export function ProfilePage() {
  const { api, t, me, reloadMe } = useApp();
  const [name, setName] = useState(me?.name ?? '');
  const [field, setField] = useState(me?.research_field ?? '');
  const [phone, setPhone] = useState(me?.phone ?? '');
  const [locale, setLocale] = useState<NonNullable<Locale>>(me?.locale ?? 'en');
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    await unwrap(api.PATCH('/me', { body: { name: name.trim(), research_field: field.trim() || null, phone: phone.trim() || null, locale } }));
    await reloadMe();
    setSaved(true);
  });
  const labels = { name: t('profile.name'), research_field: t('studies.field'), phone: t('profile.phone'), locale: t('profile.locale') };
  return (
    <>
      <h1>{t('nav.profile')}</h1>
      <p class="muted">
        {me?.email} {me?.university ? `· ${me.university}` : ''}
      </p>
      {saved && (
        <p class="notice" role="status">
          {t('common.saved')}
        </p>
      )}
      <Form
        onSubmit={() => {
          setSaved(false);
          save.run();
        }}
      >
        <ErrorSummary error={save.error} fields={labels} />
        <TextField name="name" label={labels.name} required value={name} onValue={setName} error={save.error} />
        <TextField name="research_field" label={labels.research_field} value={field} onValue={setField} error={save.error} />
        <TextField name="phone" type="tel" label={labels.phone} value={phone} onValue={setPhone} error={save.error} />
        <SelectField
          name="locale"
          label={labels.locale}
          value={locale}
          onValue={(value) => setLocale(value as NonNullable<Locale>)}
          error={save.error}
          options={[
            { value: 'en', label: 'English' },
            { value: 'nl', label: 'Nederlands' },
          ]}
        />
        <div class="actions">
          <button type="submit" disabled={save.busy}>
            {t('common.save')}
          </button>
        </div>
      </Form>
      <ApiTokens />
    </>
  );
}

function ApiTokens() {
  const { api, t, locale } = useApp();
  const tokens = usePaged((cursor) => unwrap(api.GET('/me/tokens', { params: { query: { limit: PAGE_SIZE, cursor } } })), []);
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [secret, setSecret] = useState<string | undefined>();
  const create = useAction(async () => {
    const made = await unwrap(api.POST('/me/tokens', { body: { name: name.trim(), expires_at: endOfDay(expires) } }));
    setSecret(made.token);
    setName('');
    setExpires('');
    tokens.reload();
  });
  const revoke = useAction(async (id: string) => {
    await unwrap(api.DELETE('/me/tokens/{token_id}', { params: { path: { token_id: id } } }));
    tokens.reload();
  });
  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">{t('tokens.title')}</h2>
      <p>{t('tokens.intro')}</p>
      {secret && (
        <div class="notice" role="status">
          <p>
            <strong>{t('tokens.once')}</strong>
          </p>
          <p class="secret" id="new-token">
            {secret}
          </p>
          <button type="button" class="secondary" onClick={() => navigator.clipboard?.writeText(secret)}>
            {t('tokens.copy')}
          </button>
        </div>
      )}
      <Form
        label={t('tokens.create')}
        onSubmit={() => {
          setSecret(undefined);
          create.run();
        }}
      >
        <ErrorSummary error={create.error} fields={{ name: t('tokens.name'), expires_at: t('tokens.expires') }} />
        <TextField name="name" label={t('tokens.name')} required value={name} onValue={setName} error={create.error} />
        <TextField name="expires_at" type="date" label={t('tokens.expires')} hint={t('tokens.expiresHint')} value={expires} onValue={setExpires} error={create.error} />
        <div class="actions">
          <button type="submit" disabled={create.busy}>
            {t('tokens.create')}
          </button>
        </div>
      </Form>
      <ErrorSummary error={revoke.error} />
      <PagedTable
        paged={tokens}
        labelledBy="tokens-title"
        head={
          <>
            <th scope="col">{t('tokens.name')}</th>
            <th scope="col">{t('studies.created')}</th>
            <th scope="col">{t('tokens.expires')}</th>
            <th scope="col">{t('members.actions')}</th>
          </>
        }
        row={(token) => (
          <tr key={token.id}>
            <td>{token.name}</td>
            <td>{formatDateTime(token.created_at, locale)}</td>
            <td>{token.expires_at ? formatDateTime(token.expires_at, locale) : t('tokens.never')}</td>
            <td>
              <button type="button" class="secondary" disabled={revoke.busy} onClick={() => confirm(t('tokens.revokeConfirm', { name: token.name })) && revoke.run(token.id)}>
                {t('tokens.revoke')}
              </button>
            </td>
          </tr>
        )}
      />
    </section>
  );
}
