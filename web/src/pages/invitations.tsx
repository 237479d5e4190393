// Invitations: sending one from a study, resending and revoking, and the page the invitation mail links to.
import { useState } from 'preact/hooks';
import { unwrap } from '../api/client';
import { ApiError } from '../api/problem';
import { ErrorSummary, Form, SelectField, TextAreaField, TextField, useAction } from '../components/forms';
import { ListFrame, PAGE_SIZE, PagedTable, usePaged } from '../components/paged';
import { useApp } from '../context';
import { formatDateTime } from '../format';
import { navigate, pathFor } from '../router';
import type { Study } from './studies';

const ROLES = ['viewer', 'contributor', 'admin'] as const;
type InviteRole = (typeof ROLES)[number];

export function Invitations({ study }: { study: Study }) {
  const { api, t, locale } = useApp();
  const path = { study_id: study.id };
  const list = usePaged(
    (cursor) => unwrap(api.GET('/studies/{study_id}/invitations', { params: { path, query: { limit: PAGE_SIZE, cursor } } })),
    [study.id],
  );
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<InviteRole>('contributor');
  const [message, setMessage] = useState('');
  const [sent, setSent] = useState('');
  const send = useAction(async () => {
    const body = { email: email.trim(), role, name: name.trim(), message: message.trim() };
    const invitation = await unwrap(api.POST('/studies/{study_id}/invitations', { params: { path }, body }));
    setSent(t('invitations.sent', { email: invitation.email }));
    setEmail('');
    setName('');
    setMessage('');
    list.reload();
  });
  const resend = useAction(async (id: string) => {
    const invitation = await unwrap(api.POST('/studies/{study_id}/invitations/{invitation_id}/resend', { params: { path: { ...path, invitation_id: id } } }));
    setSent(t('invitations.resent', { email: invitation.email }));
    list.replace(invitation, (a, b) => a.id === b.id);
  });
  const revoke = useAction(async (id: string) => {
    await unwrap(api.DELETE('/studies/{study_id}/invitations/{invitation_id}', { params: { path: { ...path, invitation_id: id } } }));
    list.reload();
  });
  const labels = { email: t('invitations.email'), name: t('invitations.name'), role: t('studies.role'), message: t('invitations.message') };
  return (
    <section aria-labelledby="invitations-title">
      <h2 id="invitations-title">{t('invitations.title')}</h2>
      {sent && (
        <p class="notice" role="status">
          {sent}
        </p>
      )}
      <Form
        label={t('invitations.send')}
        onSubmit={() => {
          setSent('');
          send.run();
        }}
      >
        <ErrorSummary error={send.error} fields={labels} />
        <TextField name="email" type="email" label={labels.email} required value={email} onValue={setEmail} error={send.error} />
        <TextField name="name" label={labels.name} value={name} onValue={setName} error={send.error} />
        <SelectField
          name="role"
          label={labels.role}
          value={role}
          onValue={(value) => setRole(value as InviteRole)}
          error={send.error}
          options={ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }))}
        />
        <TextAreaField name="message" label={labels.message} value={message} onValue={setMessage} error={send.error} />
        <div class="actions">
          <button type="submit" disabled={send.busy}>
            {t('invitations.send')}
          </button>
        </div>
      </Form>
      <ErrorSummary error={resend.error ?? revoke.error} />
      <PagedTable
        paged={list}
        labelledBy="invitations-title"
        head={
          <>
            <th scope="col">{t('invitations.email')}</th>
            <th scope="col">{t('studies.role')}</th>
            <th scope="col">{t('invitations.status')}</th>
            <th scope="col">{t('invitations.expires')}</th>
            <th scope="col">{t('members.actions')}</th>
          </>
        }
        row={(invitation) => (
          <tr key={invitation.id}>
            <td>{invitation.email}</td>
            <td>{t(`role.${invitation.role}`)}</td>
            <td>
              {t(`invitationStatus.${invitation.status}`)}
              {invitation.mail_status === 'failed' && <span class="muted"> · {t('invitations.mailFailed')}</span>}
            </td>
            <td>{formatDateTime(invitation.expires_at, locale)}</td>
            <td class="actions">
              {(invitation.status === 'pending' || invitation.status === 'expired') && (
                <button type="button" class="secondary" disabled={resend.busy} onClick={() => resend.run(invitation.id)}>
                  {t('invitations.resend')}
                </button>
              )}
              {invitation.status === 'pending' && (
                <button type="button" class="secondary" disabled={revoke.busy} onClick={() => confirm(t('invitations.revokeConfirm', { email: invitation.email })) && revoke.run(invitation.id)}>
                  {t('invitations.revoke')}
                </button>
              )}
            </td>
          </tr>
        )}
      />
    </section>
  );
}

/** The page the invitation mail links to (`/invitations/accept?token=...`), reached after login if need be. */
export function AcceptInvitationPage({ token }: { token: string | null }) {
  const { api, t, me } = useApp();
  const pending = usePaged((cursor) => unwrap(api.GET('/me/invitations', { params: { query: { limit: PAGE_SIZE, cursor } } })), []);
  const [declined, setDeclined] = useState(false);
  const accept = useAction(async () => {
    const membership = await unwrap(api.POST('/invitations/accept', { body: { token: token ?? '' } }));
    navigate(pathFor('/studies/:studyId', { studyId: membership.study_id }));
  });
  const decline = useAction(async () => {
    await unwrap(api.POST('/invitations/decline', { body: { token: token ?? '' } }));
    setDeclined(true);
  });
  if (!token) {
    return (
      <>
        <h1>{t('accept.title')}</h1>
        <p role="alert">{t('accept.noToken')}</p>
      </>
    );
  }
  if (declined) {
    return (
      <>
        <h1>{t('accept.title')}</h1>
        <p class="notice" role="status">
          {t('accept.declined')}
        </p>
      </>
    );
  }
  const error = accept.error ?? decline.error;
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <>
      <h1>{t('accept.title')}</h1>
      {forbidden ? (
        <div class="error-summary" role="alert">
          <h2>{t('error.summary')}</h2>
          <p>{t('accept.otherEmail', { email: me?.email ?? '' })}</p>
          <p class="muted">{(error as ApiError).detail}</p>
        </div>
      ) : (
        <ErrorSummary error={error} />
      )}
      <p id="pending-intro">{t(pending.items.length > 0 ? 'accept.pendingIntro' : 'accept.intro')}</p>
      {pending.items.length > 0 && (
        <ListFrame paged={pending} labelledBy="pending-intro">
          <ul>
            {pending.items.map((invitation) => (
              <li key={invitation.id}>
                {t('accept.invitedAs', { role: t(`role.${invitation.role}`) })}
                {invitation.message && <blockquote>{invitation.message}</blockquote>}
              </li>
            ))}
          </ul>
        </ListFrame>
      )}
      <p class="muted">{t('accept.as', { email: me?.email ?? '' })}</p>
      <div class="actions">
        <button type="button" disabled={accept.busy} onClick={() => accept.run()}>
          {t('accept.accept')}
        </button>
        <button type="button" class="secondary" disabled={decline.busy} onClick={() => decline.run()}>
          {t('accept.decline')}
        </button>
      </div>
    </>
  );
}
