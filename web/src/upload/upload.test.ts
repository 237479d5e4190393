import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/problem';
import { Broker, retryable } from './broker';
import { toHex, hexToBase64, partCount, partRange, sha256File, sha256Hex, toBase64 } from './checksum';
import { codeFromPath, sessionStore } from './page';
import { fingerprint, type PutPart, type Session, type SessionStore, uploadFile } from './uploader';

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

  it('cuts parts', () => {
    expect(partCount(0, 5)).toBe(1);
    expect(partCount(11, 5)).toBe(3);
    expect(partRange(3, 5, 11)).toEqual([10, 11]);
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
});

interface Call {
  method: string;
  url: string;
  secret: string | null;
  body: unknown;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** A fake broker behind fetch: one upload, parts of 4 bytes, `heldAtStart` parts already in storage. */
function fakeBroker(heldAtStart: number[] = []) {
  const calls: Call[] = [];
  const signed = new Map<number, string>();
  const fetcher = (async (input: string, init: RequestInit) => {
    const url = String(input);
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    const secret = new Headers(init.headers).get('Upload-Secret');
    calls.push({ method: init.method ?? 'GET', url, secret, body });
    if (url.endsWith('/dropoff/uploads')) {
      if (body.filename.endsWith('.exe')) {
        return json(415, { type: 'about:blank', title: 'Unsupported Media Type', status: 415, detail: 'Files of type .exe are not accepted.' });
      }
      return json(201, { upload_id: 'u1', upload_secret: 'st.secret', part_size: 4, part_count: 3, expires_at: 'x' });
    }
    if (url.endsWith('/parts')) {
      for (const p of body.parts) signed.set(p.number, p.checksum_sha256);
      return json(200, { parts: body.parts.map((p: { number: number }) => ({ number: p.number, url: `s3://part/${p.number}`, headers: { 'x-amz-checksum-sha256': 'h' }, expires_at: 'x' })) });
    }
    if (url.endsWith('/complete')) return json(200, { id: 'u1', file_name: 'a.bin', size: 10, status: 'received', checksum_sha256: body.checksum_sha256 });
    if (init.method === 'GET') {
      return json(200, { upload_id: 'u1', state: 'admitted', size: 10, part_size: 4, part_count: 3, parts: heldAtStart.map((n) => ({ number: n, size: 4, etag: 'e' })) });
    }
    return json(500, {});
  }) as unknown as typeof fetch;
  return { calls, signed, broker: new Broker('http://api', fetcher) };
}

function memoryStore(initial?: Session): SessionStore & { map: Map<string, Session> } {
  const map = new Map<string, Session>();
  return {
    map,
    get: (k) => map.get(k) ?? initial,
    set: (k, s) => void map.set(k, s),
    delete: (k) => {
      map.delete(k);
      initial = undefined;
    },
  };
}

const events = { progress: () => undefined, status: () => undefined };
const data = bytes(10);
const file = new File([data], 'a.bin', { lastModified: 1 });
const offer = { upload_code: 'CODE', filename: 'a.bin', size: 10 };

describe('uploadFile over the broker routes', () => {
  it('starts, signs each part with its SHA-256, PUTs it, and completes with the whole file hash', async () => {
    const { calls, signed, broker } = fakeBroker();
    const puts: number[] = [];
    const put: PutPart = async (url, _h, body, onProgress) => {
      puts.push(Number(url.split('/').pop()));
      onProgress(body.size);
    };
    const store = memoryStore();
    const recorded = await uploadFile(file, offer, events, { broker, put, store });
    expect(puts).toEqual([1, 2, 3]);
    expect(signed.get(3)).toBe(await hex(data.slice(8, 10)));
    expect(recorded.checksum_sha256).toBe(await hex(data));
    expect(calls.slice(1).every((c) => c.secret === 'st.secret')).toBe(true);
    expect(store.map.size).toBe(0); // a finished upload is forgotten
  });

  it('retries a part after a dropped connection', async () => {
    const { broker } = fakeBroker();
    let failures = 1;
    const put: PutPart = async () => {
      if (failures-- > 0) throw new ApiError({ status: 0, detail: 'offline' });
    };
    const statuses: string[] = [];
    await uploadFile(file, offer, { ...events, status: (s) => void statuses.push(s) }, { broker, put, store: memoryStore(), retryDelays: [1] });
    expect(statuses).toContain('waiting');
  });

  it('resumes a stored upload, sending only the parts storage lacks', async () => {
    const { calls, broker } = fakeBroker([1, 2]);
    const puts: string[] = [];
    const put: PutPart = async (url) => void puts.push(url);
    const store = memoryStore({ upload_id: 'u1', upload_secret: 'st.secret', part_size: 4 });
    await uploadFile(file, offer, events, { broker, put, store });
    expect(puts).toEqual(['s3://part/3']);
    expect(calls.some((c) => c.url.endsWith('/dropoff/uploads'))).toBe(false);
  });

  it('shows a refusal as the problem document says, without retrying', async () => {
    const { calls, broker } = fakeBroker();
    const put: PutPart = async () => undefined;
    const exe = new File([data], 'setup.exe');
    const error = await uploadFile(exe, { ...offer, filename: 'setup.exe' }, events, { broker, put, store: memoryStore() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).detail).toBe('Files of type .exe are not accepted.');
    expect(calls).toHaveLength(1);
  });

  it('retries the network and 5xx, not refusals', () => {
    expect(retryable(new ApiError({ status: 0, detail: '' }))).toBe(true);
    expect(retryable(new ApiError({ status: 503, detail: '' }))).toBe(true);
    expect(retryable(new ApiError({ status: 403, detail: '' }))).toBe(false);
  });

  it('fingerprints a file per code', () => {
    expect(fingerprint('C', file)).toBe('vre-upload:C:a.bin:10:1');
  });
});
