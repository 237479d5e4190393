// Uploads: what senders dropped off for a study (with a download once the API offers one), the study's upload
// link to hand out, and a new code that makes the old link stop working.
import { unwrap } from '../api/client';
import { problemFromResponse } from '../api/problem';
import type { components } from '../api/schema';
import { ErrorSummary, Loading, useAction, useLoad } from '../components/forms';
import { useApp } from '../context';
import { formatBytes, formatDateTime } from '../format';
import { pathFor } from '../router';
import { atLeast, type Study } from './studies';

type Upload = components['schemas']['UploadView'];

function UploadTable({ study, uploads }: { study: Study; uploads: readonly Upload[] }) {
  const { t, locale, config, session } = useApp();
  const download = useAction(async (upload: Upload) => {
    // Not in the typed client until the drop-off's download route is in the served document.
    const url = `${config.apiBaseUrl}/studies/${encodeURIComponent(study.id)}/uploads/${encodeURIComponent(upload.id)}/download`;
    const response = await fetch(url, { headers: { Authorization: `Bearer ${session.token() ?? ''}` } });
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw problemFromResponse(response.status, body, response.statusText);
    const link = (body as { url?: unknown } | undefined)?.url;
    if (typeof link === 'string') window.location.assign(link);
  });
  return (
    <>
      <ErrorSummary error={download.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">{t('uploads.file')}</th>
            <th scope="col">{t('uploads.size')}</th>
            <th scope="col">{t('uploads.sender')}</th>
            <th scope="col">{t('uploads.at')}</th>
            <th scope="col">{t('invitations.status')}</th>
            {atLeast(study.role, 'contributor') && <th scope="col">{t('members.actions')}</th>}
          </tr>
        </thead>
        <tbody>
          {uploads.map((upload) => (
            <tr key={upload.id}>
              <td>{upload.file_name}</td>
              <td>{formatBytes(upload.size, locale)}</td>
              <td>{[upload.sender_name, upload.sender_email].filter(Boolean).join(' · ') || '—'}</td>
              <td>{formatDateTime(upload.at, locale)}</td>
              <td>{t(`uploadStatus.${upload.status}`)}</td>
              {atLeast(study.role, 'contributor') && (
                <td>
                  {upload.status === 'received' && (
                    <button type="button" class="secondary" disabled={download.busy} onClick={() => download.run(upload)}>
                      {t('uploads.download')}
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function StudyUploads({ study }: { study: Study }) {
  const { api, t } = useApp();
  const list = useLoad(
    () => unwrap(api.GET('/studies/{study_id}/uploads', { params: { path: { study_id: study.id }, query: { limit: 100 } } })),
    [study.id],
  );
  return (
    <section aria-labelledby="uploads-title">
      <h2 id="uploads-title">{t('nav.uploads')}</h2>
      {!list.data ? <Loading error={list.error} /> : list.data.items.length === 0 ? <p>{t('uploads.empty')}</p> : <UploadTable study={study} uploads={list.data.items} />}
    </section>
  );
}

export function UploadLink({ study, onChanged }: { study: Study; onChanged: () => void }) {
  const { api, t } = useApp();
  const renew = useAction(async () => {
    await unwrap(api.POST('/studies/{study_id}/upload-code', { params: { path: { study_id: study.id } } }));
    onChanged();
  });
  if (!study.upload_url) return null;
  return (
    <section aria-labelledby="upload-link-title">
      <h2 id="upload-link-title">{t('uploads.link')}</h2>
      <p>{t('uploads.linkIntro')}</p>
      <p class="secret">
        <a href={study.upload_url} id="upload-url">
          {study.upload_url}
        </a>
      </p>
      <ErrorSummary error={renew.error} />
      {atLeast(study.role, 'admin') && (
        <button type="button" class="secondary" disabled={renew.busy} onClick={() => confirm(t('uploads.newCodeConfirm')) && renew.run()}>
          {t('uploads.newCode')}
        </button>
      )}
    </section>
  );
}

/** The uploads of every study the researcher may see them in. */
export function UploadsPage() {
  const { api, t } = useApp();
  const studies = useLoad(() => unwrap(api.GET('/studies', { params: { query: { limit: 100 } } })), []);
  return (
    <>
      <h1>{t('nav.uploads')}</h1>
      {!studies.data ? (
        <Loading error={studies.error} />
      ) : studies.data.items.length === 0 ? (
        <p>{t('studies.empty')}</p>
      ) : (
        studies.data.items.map((study) => (
          <section key={study.id}>
            <h2>
              <a href={pathFor('/studies/:studyId', { studyId: study.id })}>{study.name}</a>
            </h2>
            <StudyUploadsBody study={study} />
          </section>
        ))
      )}
    </>
  );
}

function StudyUploadsBody({ study }: { study: Study }) {
  const { api, t } = useApp();
  const list = useLoad(
    () => unwrap(api.GET('/studies/{study_id}/uploads', { params: { path: { study_id: study.id }, query: { limit: 100 } } })),
    [study.id],
  );
  if (!list.data) return <Loading error={list.error} />;
  return list.data.items.length === 0 ? <p>{t('uploads.empty')}</p> : <UploadTable study={study} uploads={list.data.items} />;
}
