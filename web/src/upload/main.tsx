// The upload page (issue 15): what the upload link (UPLOAD_BASE_URL + code) opens, for someone with no account.
// Several files, dropped or chosen; Uppy (./uploader) sends each to S3 in parts through the broker's
// /dropoff/uploads routes. Our own Preact view of Uppy's state: a progress bar per file and in total, refusals
// in the problem document's words, Cancel (which aborts the upload), and a receipt at the end.
import { render } from 'preact';
import '../styles.css';
import './upload.css';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/problem';
import { loadConfig } from '../config';
import { formatBytes } from '../format';
import { browserLocale, isLocale, type Locale, LOCALES, translator } from '../i18n';
import { Dropoff, retryable } from './dropoff';
import { codeFromPath, sessionStore } from './page';
import { createUploader, type Status as Moving, storageStatus, type Upload, type UploadFile } from './uploader';

type Status = 'queued' | Moving | 'done' | 'refused' | 'stopped';

/** Why a file stopped: a refusal in the problem document's words, storage's answer, or a connection gone. */
type Failure = { kind: 'refused'; detail: string } | { kind: 'storage'; status: number } | { kind: 'stopped' };

function failureOf(error: unknown): Failure {
  if (error instanceof ApiError) return retryable(error) ? { kind: 'stopped' } : { kind: 'refused', detail: error.detail };
  const status = storageStatus(error);
  return status !== undefined && status >= 400 && status < 500 ? { kind: 'storage', status } : { kind: 'stopped' };
}

const LOCALE_KEY = 'vre-upload-locale';

function UploadPage({ dropoff, code }: { dropoff: Dropoff | undefined; code: string }) {
  const stored = localStorage.getItem(LOCALE_KEY);
  const [locale, setLocale] = useState<Locale>(isLocale(stored) ? stored : browserLocale(navigator.languages));
  const t = useMemo(() => translator(locale), [locale]);
  const [dragging, setDragging] = useState(false);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const sender = useRef({ name, email });
  sender.current = { name, email };
  const [statuses, setStatuses] = useState<Record<string, Moving>>({});
  const [failures, setFailures] = useState<Record<string, Failure>>({});
  const [files, setFiles] = useState<UploadFile[]>([]);
  const [busy, setBusy] = useState(false);
  const uppy = useMemo<Upload | undefined>(
    () =>
      dropoff &&
      createUploader({
        dropoff,
        code,
        store: sessionStore(sessionStorage),
        sender: () => sender.current,
        status: (id, status) => setStatuses((all) => ({ ...all, [id]: status })),
      }),
    [dropoff, code],
  );
  useEffect(() => {
    if (!uppy) return undefined;
    const refresh = () => {
      setFiles(uppy.getFiles());
      setBusy(Object.keys(uppy.getState().currentUploads).length > 0);
    };
    const failed = (file: UploadFile | undefined, error: unknown) => {
      if (file) setFailures((all) => ({ ...all, [file.id]: failureOf(error) }));
    };
    uppy.on('state-update', refresh);
    uppy.on('upload-error', failed);
    return () => {
      uppy.off('state-update', refresh);
      uppy.off('upload-error', failed);
      uppy.destroy();
    };
  }, [uppy]);
  useEffect(() => {
    document.documentElement.lang = locale;
    localStorage.setItem(LOCALE_KEY, locale);
  }, [locale]);

  const add = (chosen: FileList | null) => {
    if (!uppy || !chosen) return;
    for (const file of Array.from(chosen)) {
      try {
        uppy.addFile({ name: file.name, type: file.type, data: file, source: 'Local' });
      } catch {
        // the same file chosen twice: Uppy keeps the first
      }
    }
  };
  const start = () => {
    if (!uppy) return;
    const again = uppy.getFiles().filter((f) => !f.progress.uploadComplete).map((f) => f.id);
    setFailures((all) => Object.fromEntries(Object.entries(all).filter(([id]) => !again.includes(id))));
    uppy.upload().catch(() => undefined); // each file's failure arrives as its upload-error
  };
  const statusOf = (file: UploadFile): Status => {
    if (file.progress.uploadComplete) return 'done';
    const failure = failures[file.id];
    if (failure) return failure.kind === 'stopped' ? 'stopped' : 'refused';
    return statuses[file.id] ?? 'queued';
  };
  const detailOf = (file: UploadFile): string => {
    const failure = failures[file.id];
    if (failure?.kind === 'refused') return failure.detail;
    if (failure?.kind === 'storage') return t('upload.storageRefused', { status: String(failure.status) });
    return '';
  };
  const sentOf = (file: UploadFile): number =>
    file.progress.uploadComplete ? (file.size ?? 0) : file.progress.bytesUploaded || 0;

  const total = files.reduce((a, f) => a + (f.size ?? 0), 0);
  const sent = files.reduce((a, f) => a + sentOf(f), 0);
  const done = files.flatMap((f) => (f.progress.uploadComplete && f.response?.body ? [f.response.body] : []));
  return (
    <main lang={locale}>
      <header>
        <h1>{t('upload.title')}</h1>
        <label>
          {t('upload.language')}{' '}
          <select value={locale} onChange={(e) => setLocale(e.currentTarget.value as Locale)}>
            {Object.keys(LOCALES).map((l) => (
              <option value={l} key={l}>
                {l === 'en' ? 'English' : 'Nederlands'}
              </option>
            ))}
          </select>
        </label>
      </header>
      {!code ? (
        <p role="alert">{t('upload.noCode')}</p>
      ) : (
        <>
          <p>{t('upload.intro')}</p>
          <div
            class={dragging ? 'dropzone dragging' : 'dropzone'}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(e) => {
              e.preventDefault();
              setDragging(false);
              add(e.dataTransfer?.files ?? null);
            }}
          >
            <label for="files">{t('upload.drop')}</label>{' '}
            <input
              id="files"
              type="file"
              multiple
              disabled={!uppy}
              onChange={(e) => {
                add(e.currentTarget.files);
                e.currentTarget.value = ''; // so that the same file can be chosen again after a removal
              }}
            />
          </div>
          <p>
            <label for="sender-name">{t('upload.senderName')}</label>{' '}
            <input id="sender-name" value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
          </p>
          <p>
            <label for="sender-email">{t('upload.senderEmail')}</label>{' '}
            <input id="sender-email" type="email" value={email} maxLength={254} onInput={(e) => setEmail(e.currentTarget.value)} />
          </p>
          <ul aria-live="polite">
            {files.map((file) => {
              const status = statusOf(file);
              const started = Boolean(file.progress.uploadStarted) || status !== 'queued';
              return (
                <li key={file.id} data-file={file.name}>
                  <span>
                    {file.name} ({formatBytes(file.size ?? 0, locale)})
                  </span>{' '}
                  <progress max={file.size || 1} value={sentOf(file)} aria-label={file.name} />{' '}
                  <span class="status" role={status === 'refused' || status === 'stopped' ? 'alert' : undefined}>
                    {t(`upload.status.${status}`, { detail: detailOf(file) })}
                  </span>
                  {status !== 'done' && (
                    <button type="button" class="secondary" onClick={() => uppy?.removeFile(file.id)}>
                      {t(started && status !== 'refused' ? 'upload.cancel' : 'upload.remove', { name: file.name ?? '' })}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
          {files.length > 0 && (
            <p>
              <label for="total">{t('upload.total')}</label>{' '}
              <progress id="total" max={total || 1} value={sent} /> {formatBytes(sent, locale)} / {formatBytes(total, locale)}
            </p>
          )}
          <button type="button" disabled={busy || !uppy || files.every((f) => f.progress.uploadComplete)} onClick={start}>
            {t('upload.start')}
          </button>
          {done.length > 0 && (
            <section aria-labelledby="receipt">
              <h2 id="receipt">{t('upload.receipt')}</h2>
              <p>{t('upload.receiptIntro')}</p>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('upload.name')}</th>
                    <th scope="col">{t('upload.size')}</th>
                    <th scope="col">{t('upload.checksum')}</th>
                  </tr>
                </thead>
                <tbody>
                  {done.map((recorded) => (
                    <tr key={recorded.id} data-upload-id={recorded.id}>
                      <td>{recorded.file_name}</td>
                      <td>{formatBytes(recorded.size, locale)}</td>
                      <td>
                        <code class="checksum">{recorded.checksum_sha256}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          )}
        </>
      )}
    </main>
  );
}

const root = document.getElementById('upload')!;
const code = codeFromPath(location.pathname);
loadConfig()
  .then((config) => render(<UploadPage dropoff={new Dropoff(config.apiBaseUrl)} code={code} />, root))
  .catch((error: unknown) => {
    const t = translator(browserLocale(navigator.languages));
    render(<p role="alert">{t('upload.configFailed', { detail: String(error) })}</p>, root);
  });
