// Uploads: what senders dropped off for a study (download for contributors, delete for admins), the study's upload
// link to hand out, and a new code that makes the old link stop working.
import { unwrap } from '../api/client';
import type { components } from '../api/schema';
import { ErrorSummary, useAction } from '../components/forms';
import { ListFrame, PAGE_SIZE, PagedTable, usePaged } from '../components/paged';
import { useApp } from '../context';
import { formatBytes, formatDateTime } from '../format';
import { pathFor } from '../router';
import { atLeast, type Study } from './studies';

type Upload = components['schemas']['UploadView'];

/** A study's uploads, a page at a time; a deleted one leaves the list (it is fetched again). */
function UploadList({ study, labelledBy }: { study: Study; labelledBy?: string }) {
  const { api, t, locale } = useApp();
  const list = usePaged(
    (cursor) => unwrap(api.GET('/studies/{study_id}/uploads', { params: { path: { study_id: study.id }, query: { limit: PAGE_SIZE, cursor } } })),
    [study.id],
  );
  const path = (upload: Upload) => ({ path: { study_id: study.id, upload_id: upload.id } });
  const download = useAction(async (upload: Upload) => {
    const link = await unwrap(api.GET('/studies/{study_id}/uploads/{upload_id}/download', { params: path(upload) }));
    window.location.assign(link.url);
  });
  const remove = useAction(async (upload: Upload) => {
    await unwrap(api.DELETE('/studies/{study_id}/uploads/{upload_id}', { params: path(upload) }));
    list.reload();
  });
  const actions = atLeast(study.role, 'contributor');
  return (
    <>
      <ErrorSummary error={download.error ?? remove.error} />
      <PagedTable
        paged={list}
        labelledBy={labelledBy}
        empty={t('uploads.empty')}
        head={
          <>
            <th scope="col">{t('uploads.file')}</th>
            <th scope="col">{t('uploads.size')}</th>
            <th scope="col">{t('uploads.sender')}</th>
            <th scope="col">{t('uploads.at')}</th>
            <th scope="col">{t('invitations.status')}</th>
            <th scope="col">{t('uploads.checksum')}</th>
            {actions && <th scope="col">{t('members.actions')}</th>}
          </>
        }
        row={(upload) => (
          <tr key={upload.id}>
            <td>{upload.file_name}</td>
            <td>{formatBytes(upload.size, locale)}</td>
            <td>{[upload.sender_name, upload.sender_email].filter(Boolean).join(' · ') || '—'}</td>
            <td>{formatDateTime(upload.at, locale)}</td>
            <td>{t(`uploadStatus.${upload.status}`)}</td>
            <td class="checksum">{upload.checksum_sha256 ? <code title={upload.checksum_sha256}>{upload.checksum_sha256.slice(0, 12)}…</code> : '—'}</td>
            {actions && (
              <td>
                {upload.status === 'received' && (
                  <button type="button" class="secondary" disabled={download.busy} onClick={() => download.run(upload)}>
                    {t('uploads.download')}
                  </button>
                )}
                {atLeast(study.role, 'admin') && upload.status === 'received' && (
                  <button
                    type="button"
                    class="danger"
                    disabled={remove.busy}
                    aria-label={t('uploads.deleteNamed', { name: upload.file_name })}
                    onClick={() => confirm(t('uploads.deleteConfirm', { name: upload.file_name })) && remove.run(upload)}
                  >
                    {t('uploads.delete')}
                  </button>
                )}
              </td>
            )}
          </tr>
        )}
      />
    </>
  );
}

export function StudyUploads({ study }: { study: Study }) {
  const { t } = useApp();
  return (
    <section aria-labelledby="uploads-title">
      <h2 id="uploads-title">{t('nav.uploads')}</h2>
      <UploadList study={study} labelledBy="uploads-title" />
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

/** The uploads of every study the researcher may see them in, a page of studies at a time. */
export function UploadsPage() {
  const { api, t } = useApp();
  const studies = usePaged((cursor) => unwrap(api.GET('/studies', { params: { query: { limit: PAGE_SIZE, cursor } } })), []);
  return (
    <>
      <h1 id="uploads-page-title">{t('nav.uploads')}</h1>
      <ListFrame paged={studies} empty={t('studies.empty')} labelledBy="uploads-page-title" moreLabel={t('studies.more')}>
        {studies.items.map((study) => (
          <section key={study.id} aria-labelledby={`uploads-${study.id}`}>
            <h2 id={`uploads-${study.id}`}>
              <a href={pathFor('/studies/:studyId', { studyId: study.id })}>{study.name}</a>
            </h2>
            <UploadList study={study} labelledBy={`uploads-${study.id}`} />
          </section>
        ))}
      </ListFrame>
    </>
  );
}
