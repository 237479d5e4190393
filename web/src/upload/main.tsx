// The upload page (issue 15): what the upload link (UPLOAD_BASE_URL + code) opens, for someone with no account.
// Several files, dropped or chosen; each goes to S3 in parts through the broker's /dropoff/uploads routes, with
// a progress bar per file and in total, retries after a dropped connection, and a receipt at the end.
import { render } from 'preact';
import '../styles.css';
import './upload.css';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError } from '../api/problem';
import { loadConfig } from '../config';
import { formatBytes } from '../format';
import { browserLocale, isLocale, type Locale, LOCALES, translator } from '../i18n';
import { Broker, type Recorded } from './broker';
import { codeFromPath, sessionStore } from './page';
import { uploadFile, xhrPut } from './uploader';

type Status = 'queued' | 'hashing' | 'uploading' | 'waiting' | 'completing' | 'done' | 'refused';

interface Item {
  file: File;
  sent: number;
  status: Status;
  detail?: string;
  recorded?: Recorded;
}

const LOCALE_KEY = 'vre-upload-locale';

function UploadPage({ broker, code }: { broker: Broker | undefined; code: string; configError?: string }) {
  const stored = localStorage.getItem(LOCALE_KEY);
  const [locale, setLocale] = useState<Locale>(isLocale(stored) ? stored : browserLocale(navigator.languages));
  const t = useMemo(() => translator(locale), [locale]);
  const [items, setItems] = useState<Item[]>([]);
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  useEffect(() => {
    document.documentElement.lang = locale;
    localStorage.setItem(LOCALE_KEY, locale);
  }, [locale]);

  const update = (file: File, change: Partial<Item>) =>
    setItems((all) => all.map((item) => (item.file === file ? { ...item, ...change } : item)));
  const add = (files: FileList | null) => {
    if (!files) return;
    setItems((all) => [
      ...all,
      ...Array.from(files)
        .filter((f) => !all.some((i) => i.file.name === f.name && i.file.size === f.size))
        .map((file): Item => ({ file, sent: 0, status: 'queued' })),
    ]);
  };

  const start = async () => {
    if (!broker) return;
    setBusy(true);
    const store = sessionStore(sessionStorage);
    for (const item of items) {
      if (item.status === 'done') continue;
      const file = item.file;
      update(file, { status: 'hashing', detail: undefined, sent: 0 });
      try {
        const recorded = await uploadFile(
          file,
          {
            upload_code: code,
            filename: file.name,
            size: file.size,
            ...(file.type ? { filetype: file.type } : {}),
            ...(name.trim() ? { sender_name: name.trim() } : {}),
            ...(email.trim() ? { sender_email: email.trim() } : {}),
          },
          { progress: (sent) => update(file, { sent }), status: (status) => update(file, { status }) },
          { broker, put: xhrPut, store },
        );
        update(file, { status: 'done', sent: file.size, recorded });
      } catch (error) {
        update(file, { status: 'refused', detail: error instanceof ApiError ? error.detail : String(error) });
      }
    }
    setBusy(false);
  };

  const total = items.reduce((a, i) => a + i.file.size, 0);
  const sent = items.reduce((a, i) => a + i.sent, 0);
  const done = items.filter((i) => i.recorded);
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
            <input id="files" type="file" multiple disabled={busy} onChange={(e) => add(e.currentTarget.files)} />
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
            {items.map((item) => (
              <li key={item.file.name} data-file={item.file.name}>
                <span>
                  {item.file.name} ({formatBytes(item.file.size, locale)})
                </span>{' '}
                <progress max={item.file.size || 1} value={item.sent} aria-label={item.file.name} />{' '}
                <span class="status" role={item.status === 'refused' ? 'alert' : undefined}>
                  {t(`upload.status.${item.status}`, { detail: item.detail ?? '' })}
                </span>
                {!busy && item.status !== 'done' && (
                  <button type="button" onClick={() => setItems((all) => all.filter((i) => i !== item))}>
                    {t('upload.remove', { name: item.file.name })}
                  </button>
                )}
              </li>
            ))}
          </ul>
          {items.length > 0 && (
            <p>
              <label for="total">{t('upload.total')}</label>{' '}
              <progress id="total" max={total || 1} value={sent} /> {formatBytes(sent, locale)} / {formatBytes(total, locale)}
            </p>
          )}
          <button type="button" disabled={busy || !broker || items.every((i) => i.status === 'done')} onClick={start}>
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
                  {done.map((i) => (
                    <tr key={i.recorded!.id} data-upload-id={i.recorded!.id}>
                      <td>{i.recorded!.file_name}</td>
                      <td>{formatBytes(i.recorded!.size, locale)}</td>
                      <td>
                        <code class="checksum">{i.recorded!.checksum_sha256}</code>
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
  .then((config) => render(<UploadPage broker={new Broker(config.apiBaseUrl)} code={code} />, root))
  .catch((error: unknown) => {
    const t = translator(browserLocale(navigator.languages));
    render(<p role="alert">{t('upload.configFailed', { detail: String(error) })}</p>, root);
  });
