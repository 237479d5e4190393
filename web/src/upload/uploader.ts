// One file's multipart upload through the broker: start (or pick up where a reload left it), each part hashed
// and PUT straight to S3 with its signed checksum, retried after a dropped connection, then complete with the
// whole file's SHA-256. The parts S3 already holds are never sent again.
import { ApiError } from '../api/problem';
import { type Broker, type Offer, type Recorded, retryable } from './broker';
import { partCount, partRange, sha256File, sha256Hex } from './checksum';

export type PutPart = (url: string, headers: Record<string, string>, body: Blob, onProgress: (sent: number) => void) => Promise<void>;

export interface Session {
  upload_id: string;
  upload_secret: string;
  part_size: number;
}

/** Where an unfinished upload's id and secret are kept across a reload (sessionStorage in the page). */
export interface SessionStore {
  get(key: string): Session | undefined;
  set(key: string, session: Session): void;
  delete(key: string): void;
}

export interface Events {
  progress(sent: number, total: number): void;
  status(status: 'hashing' | 'uploading' | 'waiting' | 'completing'): void;
}

export function fingerprint(code: string, file: File): string {
  return `vre-upload:${code}:${file.name}:${file.size}:${file.lastModified}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Options {
  broker: Broker;
  put: PutPart;
  store: SessionStore;
  retryDelays?: readonly number[];
  signal?: AbortSignal;
}

/** Retry `action` while it fails for a reason that passes (the network, a 5xx); a refusal is thrown at once. */
async function withRetry<T>(action: () => Promise<T>, delays: readonly number[], onWait: () => void, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (signal?.aborted || !retryable(error)) throw error;
      onWait();
      await sleep(delays[Math.min(attempt, delays.length - 1)] ?? 1000);
    }
  }
}

export async function uploadFile(file: File, offer: Offer, events: Events, options: Options): Promise<Recorded> {
  const { broker, put, store, signal } = options;
  const delays = options.retryDelays ?? [500, 1000, 2000, 4000, 8000];
  const key = fingerprint(offer.upload_code, file);
  const wait = () => events.status('waiting');
  const whole = sha256File(file);
  whole.catch(() => undefined);

  let session = store.get(key);
  const held = new Map<number, number>();
  if (session) {
    const known = session;
    try {
      const progress = await withRetry(() => broker.progress(known.upload_id, known.upload_secret), delays, wait, signal);
      if (progress.state === 'admitted') for (const p of progress.parts) held.set(p.number, p.size);
      else if (progress.state === 'received') {
        store.delete(key);
        return await broker.complete(known.upload_id, known.upload_secret, await whole);
      } else session = undefined;
    } catch (error) {
      if (!(error instanceof ApiError) || retryable(error)) throw error;
      session = undefined; // expired, replaced code, gone: start afresh
    }
  }
  if (!session) {
    held.clear();
    const started = await withRetry(() => broker.start(offer), delays, wait, signal);
    session = { upload_id: started.upload_id, upload_secret: started.upload_secret, part_size: started.part_size };
    store.set(key, session);
  }
  const { upload_id: id, upload_secret: secret, part_size: partSize } = session;
  const count = partCount(file.size, partSize);
  const sentOf = new Map<number, number>(held);
  const report = () => events.progress([...sentOf.values()].reduce((a, b) => a + b, 0), file.size);
  report();
  events.status('uploading');
  for (let number = 1; number <= count; number++) {
    if (held.has(number)) continue;
    signal?.throwIfAborted();
    const [from, to] = partRange(number, partSize, file.size);
    const body = file.slice(from, to);
    const checksum = await sha256Hex(body);
    await withRetry(
      async () => {
        const [signed] = await broker.signParts(id, secret, [{ number, checksum_sha256: checksum }]);
        if (!signed) throw new ApiError({ status: 502, detail: 'no part URL' });
        events.status('uploading');
        await put(signed.url, signed.headers, body, (sent) => {
          sentOf.set(number, sent);
          report();
        });
      },
      delays,
      () => {
        sentOf.set(number, 0);
        report();
        wait();
      },
      signal,
    );
    sentOf.set(number, to - from);
    report();
  }
  events.status('completing');
  const digest = await whole;
  const recorded = await withRetry(() => broker.complete(id, secret, digest), delays, wait, signal);
  store.delete(key);
  return recorded;
}

/** A part's PUT with XMLHttpRequest, for its upload progress; a dropped connection is an ApiError of status 0. */
export const xhrPut: PutPart = (url, headers, body, onProgress) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve()
        : reject(new ApiError({ status: xhr.status, detail: `storage answered ${xhr.status}` }));
    xhr.onerror = () => reject(new ApiError({ status: 0, type: 'network', detail: 'connection lost' }));
    xhr.send(body);
  });
