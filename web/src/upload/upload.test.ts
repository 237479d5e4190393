import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../api/problem';
import { toHex, hexToBase64, sha256File, sha256Hex, toBase64 } from './checksum';
import { Dropoff, retryable } from './dropoff';
import { codeFromPath, sessionStore } from './page';
import { asExpired, createUploader, fingerprint, RETRY_DELAYS, retriedByUppy, type Session, type SessionStore, type Status, type Upload } from './uploader';

const hex = async (data: Uint8Array<ArrayBuffer>) => toHex(await crypto.subtle.digest('SHA-256', data));

function bytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) % 251;
  return out;
}

describe('checksums', () => {
  it('hashes a part and a whole file as node does', async () => {
    const data = bytes(20 * 1024 * 1024 + 3);
    const blob = new Blob([data]);
    expect(await sha256Hex(blob.slice(0, 1000))).toBe(await hex(data.slice(0, 1000)));
    expect(await sha256File(blob)).toBe(await hex(data));
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(await sha256File(new Blob(['abc']))).toBe(abc);
  });

  it('converts hex to the base64 S3 writes', () => {
    expect(hexToBase64('ff00')).toBe('/wA=');
    expect(toBase64(new Uint8Array([255, 0]))).toBe('/wA=');
  });
});

describe('page helpers', () => {
  it('reads the code from the link', () => {
    expect(codeFromPath('/upload/abc%20d')).toBe('abc d');
    expect(codeFromPath('/upload/')).toBe('');
    expect(codeFromPath('/upload/%E0')).toBe('');
  });

  it('keeps sessions, and ignores what it cannot read', () => {
    const map = new Map<string, string>();
    const storage = {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
    } as unknown as Storage;
    const store = sessionStore(storage);
    store.set('a', { upload_id: 'u', upload_secret: 's', part_size: 5 });
    expect(store.get('a')?.upload_id).toBe('u');
    map.set('b', '{not json');
    expect(store.get('b')).toBeUndefined();
    store.delete('a');
    expect(store.get('a')).toBeUndefined();
  });

  it('fingerprints a file per code', () => {
    expect(fingerprint('C', 'a.bin', new File([new Uint8Array(10)], 'a.bin', { lastModified: 1 }))).toBe('vre-upload:C:a.bin:10:1');
  });
});

describe('what is tried again', () => {
  it('retries the network and 5xx from the broker, not refusals', () => {
    expect(retryable(new ApiError({ status: 0, detail: '' }))).toBe(true);
    expect(retryable(new ApiError({ status: 503, detail: '' }))).toBe(true);
    expect(retryable(new ApiError({ status: 403, detail: '' }))).toBe(false);
  });

  it('takes any 403 that says the URL expired as expired, which Uppy signs again', () => {
    const minio = Object.assign(new Error('Non 2xx'), { source: { status: 403, responseText: '<Message>Request has expired</Message><Key>x</Key>' } });
    expect((asExpired(minio) as Error).message).toBe('Request has expired');
    const other = Object.assign(new Error('Non 2xx'), { source: { status: 403, responseText: '<Code>ExpiredToken</Code>' } });
    expect(retriedByUppy(asExpired(other))).toBe(true);
    const denied = Object.assign(new Error('Non 2xx'), { source: { status: 403, responseText: '<Code>SignatureDoesNotMatch</Code>' } });
    expect(asExpired(denied)).toBe(denied);
    expect(retriedByUppy(denied)).toBe(false);
    expect(retriedByUppy(Object.assign(new Error('Unknown error'), { source: { status: 0 } }))).toBe(true);
    expect(retriedByUppy(Object.assign(new Error('Non 2xx'), { source: { status: 400 } }))).toBe(true);
    expect(retriedByUppy(Object.assign(new Error('Non 2xx'), { source: { status: 404 } }))).toBe(false);
  });
});

// ---- Uppy over a fake broker (fetch) and a fake S3 (XMLHttpRequest) ----

const MiB = 1024 * 1024;
const PART = 5 * MiB; // S3's (and Uppy's) smallest part
const data = bytes(2 * PART + 1000); // three parts
const file = new File([data], 'scan.nii', { lastModified: 1 });

interface Call {
  method: string;
  path: string;
  secret: string | null;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/**
 * A fake broker behind fetch: scan.nii's upload is `u1` (another file's is `u-<its name>`), parts of 5 MiB, `held`
 * parts already in storage; `refuse` answers a call instead (a problem document) when it returns one.
 */
function fakeBroker(options: { held?: number[]; state?: string; refuse?: (call: Call) => Response | undefined } = {}) {
  const calls: Call[] = [];
  const held = [...(options.held ?? [])];
  const signed = new Map<number, string[]>();
  const fetcher = (async (input: Request | string, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const path = new URL(request.url).pathname;
    const text = await request.text();
    const body = text ? JSON.parse(text) : undefined;
    const call = { method: request.method, path, secret: request.headers.get('Upload-Secret'), body };
    calls.push(call);
    const refusal = options.refuse?.(call);
    if (refusal) return refusal;
    if (path === '/dropoff/uploads') {
      if (body.filename.endsWith('.exe')) {
        return json(415, { type: 'about:blank', title: 'Unsupported Media Type', status: 415, detail: 'Files of type .exe are not accepted.' });
      }
      const id = body.filename === 'scan.nii' ? 'u1' : `u-${body.filename}`;
      return json(201, { upload_id: id, upload_secret: 'st.secret', part_size: PART, part_count: 3, expires_at: 'x' });
    }
    if (path.endsWith('/parts')) {
      const parts = body.parts as { number: number; checksum_sha256: string }[];
      for (const p of parts) signed.set(p.number, [...(signed.get(p.number) ?? []), p.checksum_sha256]);
      return json(200, {
        parts: parts.map((p) => ({
          number: p.number,
          url: `http://s3.test/${path.split('/')[3]}?partNumber=${p.number}&try=${signed.get(p.number)!.length}`,
          headers: { 'x-amz-checksum-sha256': hexToBase64(p.checksum_sha256) },
          expires_at: 'x',
        })),
      });
    }
    if (path.endsWith('/complete')) {
      return json(200, { id: 'u1', file_name: 'scan.nii', size: data.length, received_bytes: data.length, status: 'received', at: 'x', updated_at: 'x', tusd_id: 't', storage: {}, checksum_sha256: body.checksum_sha256 });
    }
    if (request.method === 'GET') {
      const parts = held.map((n) => ({ number: n, size: PART, etag: `"e${n}"` }));
      return json(200, { upload_id: 'u1', state: options.state ?? 'admitted', size: data.length, part_size: PART, part_count: 3, parts });
    }
    if (request.method === 'DELETE') return new Response(null, { status: 204 });
    return json(500, {});
  }) as unknown as typeof fetch;
  return { calls, signed, held, dropoff: new Dropoff('http://api.test', fetcher) };
}

interface Put {
  url: string;
  headers: Record<string, string>;
  size: number;
}
type S3Answer = { status: number; body?: string } | 'drop' | 'hang';

/** XMLHttpRequest as Uppy's uploadPartBytes uses it, answering from `answer` (S3's part PUTs). */
class FakeXhr extends EventTarget {
  static puts: Put[] = [];
  static answer: (put: Put, index: number) => S3Answer = () => ({ status: 200 });
  upload = new EventTarget();
  status = 0;
  responseText = '';
  responseType = '';
  timeout = 0;
  private url = '';
  private headers: Record<string, string> = {};

  open(_method: string, url: string) {
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  getAllResponseHeaders() {
    return this.status === 200 ? `etag: "${this.url.replace(/.*partNumber=(\d+).*/, '$1')}"\r\n` : '';
  }
  abort() {
    this.dispatchEvent(new Event('abort'));
  }
  send(body: Blob) {
    const put = { url: this.url, headers: { ...this.headers }, size: body.size };
    const index = FakeXhr.puts.push(put) - 1;
    const answer = FakeXhr.answer(put, index);
    setTimeout(() => {
      if (answer === 'hang') return;
      if (answer === 'drop') return void this.dispatchEvent(new Event('error'));
      this.status = answer.status;
      this.responseText = answer.body ?? '';
      this.dispatchEvent(new Event('load'));
    }, 1);
  }
}

function memoryStore(initial: Record<string, Session> = {}): SessionStore & { map: Map<string, Session> } {
  const map = new Map(Object.entries(initial));
  return { map, get: (k) => map.get(k), set: (k, s) => void map.set(k, s), delete: (k) => void map.delete(k) };
}

const KEY = fingerprint('CODE', 'scan.nii', file);
const saved: Session = { upload_id: 'u1', upload_secret: 'st.secret', part_size: PART };

function setup(broker: ReturnType<typeof fakeBroker>, store = memoryStore(), tuning: { retryDelays?: number[]; limit?: number } = {}) {
  const statuses: Status[] = [];
  const errors: unknown[] = [];
  const uppy: Upload = createUploader({
    dropoff: broker.dropoff,
    code: 'CODE',
    store,
    sender: () => ({ name: ' Lab Tech ', email: '' }),
    status: (_id, s) => void statuses.push(s),
    retryDelays: [0, 5, 5],
    ...tuning,
  });
  uppy.on('upload-error', (_f, error) => void errors.push(error));
  return { uppy, store, statuses, errors };
}

const partsPut = () => FakeXhr.puts.map((p) => Number(new URL(p.url).searchParams.get('partNumber')));

describe('the Uppy engine over the drop-off routes', () => {
  beforeEach(() => {
    FakeXhr.puts = [];
    FakeXhr.answer = () => ({ status: 200 });
    (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = FakeXhr;
  });
  afterEach(() => {
    delete (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest;
  });

  it('starts, signs each part with its SHA-256, PUTs it with the signed header, and completes with the whole file hash', async () => {
    const broker = fakeBroker();
    const { uppy, store, errors } = setup(broker);
    const id = uppy.addFile({ name: 'scan.nii', data: file });
    const result = await uppy.upload();
    expect(errors).toEqual([]);
    expect(result?.successful?.map((f) => f.id)).toEqual([id]);
    const start = broker.calls[0]!;
    expect(start).toMatchObject({ method: 'POST', path: '/dropoff/uploads', secret: null });
    expect(start.body).toMatchObject({ upload_code: 'CODE', filename: 'scan.nii', size: data.length, sender_name: 'Lab Tech', sender_email: null });
    expect(partsPut().sort()).toEqual([1, 2, 3]);
    expect(broker.signed.get(3)).toEqual([await hex(data.slice(2 * PART))]);
    expect(broker.signed.get(1)).toEqual([await hex(data.slice(0, PART))]);
    for (const put of FakeXhr.puts) {
      const n = Number(new URL(put.url).searchParams.get('partNumber'));
      expect(put.headers['x-amz-checksum-sha256']).toBe(hexToBase64(broker.signed.get(n)![0]!));
      expect(put.size).toBe(n === 3 ? 1000 : PART);
    }
    const complete = broker.calls.find((c) => c.path.endsWith('/complete'))!;
    expect(complete.body.checksum_sha256).toBe(await hex(data));
    expect(broker.calls.slice(1).every((c) => c.secret === 'st.secret')).toBe(true);
    expect(uppy.getFile(id).response?.body?.checksum_sha256).toBe(await hex(data));
    expect(store.map.size).toBe(0); // a finished upload is forgotten
  });

  it('retries a part after a dropped connection, saying so, and signs it again', async () => {
    const broker = fakeBroker();
    let drops = 0;
    FakeXhr.answer = (put) => (put.url.includes('partNumber=2') && drops++ < 2 ? 'drop' : { status: 200 });
    const { uppy, statuses, errors } = setup(broker);
    uppy.addFile({ name: 'scan.nii', data: file });
    await uppy.upload();
    expect(errors).toEqual([]);
    expect(partsPut().filter((n) => n === 2)).toHaveLength(3);
    expect(broker.signed.get(2)).toHaveLength(3);
    expect(statuses).toContain('waiting');
    expect(statuses.at(-1)).toBe('completing');
  });

  it.each([
    ['S3', '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>'],
    ['an S3-compatible store', '<Error><Code>AccessDenied</Code><Message>Signature has expired.</Message></Error>'],
  ])('signs a part again when %s says its URL expired (a long offline spell), not failing the file', async (_store, expired) => {
    const broker = fakeBroker();
    FakeXhr.answer = (put) => (put.url.endsWith('partNumber=1&try=1') ? { status: 403, body: expired } : { status: 200 });
    const { uppy, errors } = setup(broker);
    uppy.addFile({ name: 'scan.nii', data: file });
    await uppy.upload();
    expect(errors).toEqual([]);
    expect(FakeXhr.puts.filter((p) => p.url.includes('partNumber=1')).map((p) => p.url)).toEqual([
      'http://s3.test/u1?partNumber=1&try=1',
      'http://s3.test/u1?partNumber=1&try=2',
    ]);
  });

  it('stops on a 403 that is not an expiry, and keeps the upload to go on with', async () => {
    const broker = fakeBroker();
    FakeXhr.answer = (put) => (put.url.includes('partNumber=1') ? { status: 403, body: '<Code>SignatureDoesNotMatch</Code>' } : { status: 200 });
    const { uppy, store, errors } = setup(broker);
    uppy.addFile({ name: 'scan.nii', data: file });
    await uppy.upload();
    expect(errors).toHaveLength(1);
    expect(FakeXhr.puts.filter((p) => p.url.includes('partNumber=1'))).toHaveLength(1);
    expect(broker.calls.some((c) => c.method === 'DELETE')).toBe(false); // not the person's cancel: kept
    expect(store.map.get(KEY)?.upload_id).toBe('u1');
  });

  it('resumes a stored upload after a reload, sending only the parts storage lacks', async () => {
    const broker = fakeBroker({ held: [1, 2] });
    const { uppy, errors } = setup(broker, memoryStore({ [KEY]: saved }));
    uppy.addFile({ name: 'scan.nii', data: file });
    await uppy.upload();
    expect(errors).toEqual([]);
    expect(partsPut()).toEqual([3]);
    expect(broker.calls.some((c) => c.path === '/dropoff/uploads')).toBe(false);
    const complete = broker.calls.find((c) => c.path.endsWith('/complete'))!;
    expect(complete.body.checksum_sha256).toBe(await hex(data));
  });

  it('goes on with Upload after a file stopped, sending only the parts storage lacks', async () => {
    const broker = fakeBroker();
    let offline = true;
    FakeXhr.answer = (put) => (put.url.includes('partNumber=3') && offline ? 'drop' : { status: 200 });
    const { uppy, store, errors } = setup(broker);
    const id = uppy.addFile({ name: 'scan.nii', data: file });
    const first = await uppy.upload();
    expect(first?.failed?.map((f) => f.id)).toEqual([id]); // the tries ran out
    expect(errors).toHaveLength(1);
    expect(broker.calls.some((c) => c.method === 'DELETE')).toBe(false);
    expect(store.map.get(KEY)?.upload_id).toBe('u1');
    broker.held.push(1, 2); // what S3 holds now
    FakeXhr.puts = [];
    offline = false;
    const second = await uppy.upload();
    expect(second?.successful?.map((f) => f.id)).toEqual([id]);
    expect(partsPut()).toEqual([3]);
    expect(broker.calls.filter((c) => c.path === '/dropoff/uploads')).toHaveLength(1);
    expect(store.map.size).toBe(0);
  });

  it('completes a stored upload storage already joined, sending nothing', async () => {
    const broker = fakeBroker({ state: 'received' });
    const { uppy, store } = setup(broker, memoryStore({ [KEY]: saved }));
    const id = uppy.addFile({ name: 'scan.nii', data: file });
    await uppy.upload();
    expect(FakeXhr.puts).toEqual([]);
    expect(uppy.getFile(id).response?.body?.id).toBe('u1');
    expect(store.map.size).toBe(0);
  });

  it('starts afresh when the stored upload is gone', async () => {
    const broker = fakeBroker({ state: 'aborted' });
    const { uppy, errors } = setup(broker, memoryStore({ [KEY]: saved }));
    uppy.addFile({ name: 'scan.nii', data: file });
    await uppy.upload();
    expect(errors).toEqual([]);
    expect(broker.calls.filter((c) => c.path === '/dropoff/uploads')).toHaveLength(1);
    expect(partsPut().sort()).toEqual([1, 2, 3]);
  });

  it('shows a refusal as the problem document says, without retrying or sending a byte', async () => {
    const broker = fakeBroker();
    const { uppy, errors } = setup(broker);
    const id = uppy.addFile({ name: 'setup.exe', data: new File([data.slice(0, 10)], 'setup.exe') });
    const result = await uppy.upload();
    expect(result?.failed?.map((f) => f.id)).toEqual([id]);
    expect(errors[0]).toBeInstanceOf(ApiError);
    expect((errors[0] as ApiError).detail).toBe('Files of type .exe are not accepted.');
    expect(broker.calls).toHaveLength(1);
    expect(FakeXhr.puts).toEqual([]);
  });

  it('ends a file at once when the broker refuses to sign its part, saying why, and the other file goes on', async () => {
    // The study's upload code was replaced mid-way: a refusal, not worth the minute and a half of retry delays.
    const detail = "This upload link is not valid (any more); ask the study's researchers for a new one.";
    const broker = fakeBroker({
      refuse: (call) => (call.path === '/dropoff/uploads/u-notes.txt/parts' ? json(403, { title: 'Forbidden', status: 403, detail }) : undefined),
    });
    const { uppy, store, errors } = setup(broker, memoryStore(), { retryDelays: RETRY_DELAYS });
    const notes = new File([data.slice(0, 1000)], 'notes.txt', { lastModified: 1 });
    const refused = uppy.addFile({ name: 'notes.txt', data: notes });
    const other = uppy.addFile({ name: 'scan.nii', data: file });
    const began = Date.now();
    const result = await uppy.upload();
    expect(Date.now() - began).toBeLessThan(4000); // not the minute and a half of RETRY_DELAYS
    expect(result?.failed?.map((f) => f.id)).toEqual([refused]);
    expect(result?.successful?.map((f) => f.id)).toEqual([other]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ApiError);
    expect((errors[0] as ApiError).detail).toBe(detail);
    const forNotes = broker.calls.filter((c) => c.path.startsWith('/dropoff/uploads/u-notes.txt'));
    expect(forNotes.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /dropoff/uploads/u-notes.txt/parts']); // once
    expect(FakeXhr.puts.some((p) => p.url.includes('u-notes.txt'))).toBe(false);
    expect(store.map.get(fingerprint('CODE', 'notes.txt', notes))?.upload_id).toBe('u-notes.txt'); // kept, not aborted
  });

  it.each([
    [409, 'This upload is aborted; no more parts are taken.'],
    [422, 'Part 4 is out of range: this upload has 3 parts.'],
  ])('asks the broker nothing more for a file once a part signature is refused (%i)', async (status, detail) => {
    const broker = fakeBroker({ refuse: (call) => (call.path.endsWith('/parts') ? json(status, { status, detail }) : undefined) });
    const { uppy, errors, statuses } = setup(broker, memoryStore(), { retryDelays: RETRY_DELAYS, limit: 1 });
    const id = uppy.addFile({ name: 'scan.nii', data: file });
    const result = await uppy.upload();
    expect(result?.failed?.map((f) => f.id)).toEqual([id]);
    expect((errors as ApiError[]).map((e) => e.detail)).toEqual([detail]);
    expect(broker.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /dropoff/uploads', 'POST /dropoff/uploads/u1/parts']);
    expect(FakeXhr.puts).toEqual([]);
    expect(statuses).not.toContain('waiting'); // a refusal is not a connection to wait for
  });

  it('asks the broker afresh on Upload after a refused part signature', async () => {
    let refusing = true;
    const broker = fakeBroker({
      refuse: (call) => (refusing && call.path.endsWith('/parts') ? json(409, { status: 409, detail: 'Not now.' }) : undefined),
    });
    const { uppy, store } = setup(broker);
    const id = uppy.addFile({ name: 'scan.nii', data: file });
    expect((await uppy.upload())?.failed?.map((f) => f.id)).toEqual([id]);
    expect(store.map.get(KEY)?.upload_id).toBe('u1');
    refusing = false;
    expect((await uppy.upload())?.successful?.map((f) => f.id)).toEqual([id]);
    expect(broker.calls.filter((c) => c.path === '/dropoff/uploads')).toHaveLength(1); // the same upload went on
    expect(partsPut().sort()).toEqual([1, 2, 3]);
  });

  it('ends a file at once when the broker refuses to list its parts', async () => {
    let gets = 0;
    const detail = 'This upload has expired; start it again.';
    const broker = fakeBroker({ refuse: (call) => (call.method === 'GET' && ++gets === 2 ? json(403, { status: 403, detail }) : undefined) });
    const { uppy, errors } = setup(broker, memoryStore({ [KEY]: saved }), { retryDelays: RETRY_DELAYS });
    uppy.addFile({ name: 'scan.nii', data: file });
    await uppy.upload();
    expect((errors as ApiError[]).map((e) => e.detail)).toEqual([detail]);
    expect(broker.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /dropoff/uploads/u1', 'GET /dropoff/uploads/u1']);
  });

  it('ends a file at once when the broker refuses to complete it, keeping the upload', async () => {
    const detail = 'Parts 3 of 3 have not arrived; send them, then complete.';
    const broker = fakeBroker({ refuse: (call) => (call.path.endsWith('/complete') ? json(409, { status: 409, detail }) : undefined) });
    const { uppy, store, errors } = setup(broker, memoryStore(), { retryDelays: RETRY_DELAYS });
    uppy.addFile({ name: 'scan.nii', data: file });
    await uppy.upload();
    expect((errors as ApiError[]).map((e) => e.detail)).toEqual([detail]);
    expect(broker.calls.filter((c) => c.path.endsWith('/complete'))).toHaveLength(1);
    expect(broker.calls.some((c) => c.method === 'DELETE')).toBe(false);
    expect(store.map.get(KEY)?.upload_id).toBe('u1');
  });

  it('aborts the upload at the broker when the person removes the file mid-way', async () => {
    const broker = fakeBroker();
    FakeXhr.answer = () => 'hang';
    const { uppy, store } = setup(broker);
    const id = uppy.addFile({ name: 'scan.nii', data: file });
    void uppy.upload();
    await waitFor(() => FakeXhr.puts.length === 3);
    expect(store.map.get(KEY)?.upload_id).toBe('u1');
    uppy.removeFile(id);
    await waitFor(() => broker.calls.some((c) => c.method === 'DELETE'));
    const abort = broker.calls.find((c) => c.method === 'DELETE')!;
    expect(abort).toMatchObject({ path: '/dropoff/uploads/u1', secret: 'st.secret' });
    expect(store.map.size).toBe(0);
  });

  it('aborts a stored upload when its file, chosen again after a reload, is removed before it goes on', async () => {
    const broker = fakeBroker({ held: [1] });
    const { uppy, store } = setup(broker, memoryStore({ [KEY]: saved }));
    const id = uppy.addFile({ name: 'scan.nii', data: file });
    uppy.removeFile(id);
    await waitFor(() => broker.calls.some((c) => c.method === 'DELETE'));
    expect(broker.calls.find((c) => c.method === 'DELETE')).toMatchObject({ path: '/dropoff/uploads/u1', secret: 'st.secret' });
    expect(store.map.size).toBe(0);
  });
});

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
