// The upload page's engine: Uppy (@uppy/core 5) with its S3 multipart plugin (@uppy/aws-s3 5.1.0, the last line
// with the createMultipartUpload/signPart/listParts/completeMultipartUpload/abortMultipartUpload hooks; 6.x dropped
// them) over the broker's drop-off routes. Each file is admitted by the broker before a byte goes (start, or the
// upload a reload left, kept in sessionStorage), its parts are hashed and PUT straight to S3 with the signed
// checksum, retried with back-off after a dropped connection and signed again when a URL expired, and the upload
// is completed with the whole file's SHA-256. A refusal from the broker ends the file at once, keeping its upload;
// removing a file aborts it.
import AwsS3, { type AwsS3Part, type AwsS3UploadParameters } from '@uppy/aws-s3';
import Uppy, { type UppyFile } from '@uppy/core';
import { ApiError } from '../api/problem';
import { sha256File, sha256Hex } from './checksum';
import { type Dropoff, type Recorded, retryable } from './dropoff';

export type Meta = Record<string, unknown>;
export type Body = Recorded;
export type Upload = Uppy<Meta, Body>;
export type UploadFile = UppyFile<Meta, Body>;

/** What the page shows while a file is on its way (done and refused come from Uppy's own events). */
export type Status = 'hashing' | 'uploading' | 'waiting' | 'completing';

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

export interface Sender {
  name?: string;
  email?: string;
}

export interface Options {
  dropoff: Dropoff;
  code: string;
  store: SessionStore;
  /** The sender's name and email as the form has them when the upload starts. */
  sender: () => Sender;
  status: (fileId: string, status: Status) => void;
  /** Waits (ms) between tries after a dropped connection, for parts (Uppy's own) and the broker's calls. */
  retryDelays?: number[];
  /** Requests at once, parts of every file together. */
  limit?: number;
}

// About a minute and a half of tries before a file stops (and can go on with Upload, or after a reload); a
// browser that knows it is offline waits for the network without using them up (Uppy pauses its queue).
export const RETRY_DELAYS = [0, 1000, 3000, 5000, 10_000, 20_000, 30_000, 30_000];
const DEFAULT_PART = 16 * 1024 * 1024;

export function fingerprint(code: string, name: string, data: Blob): string {
  const modified = data instanceof File ? data.lastModified : 0;
  return `vre-upload:${code}:${name}:${data.size}:${modified}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retry a broker call while it fails for a reason that passes (the network, a 5xx); a refusal is thrown at once. */
async function withRetry<T>(action: () => Promise<T>, delays: readonly number[], onWait: () => void, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      const delay = delays[attempt];
      if (signal?.aborted || !retryable(error) || delay === undefined) throw error;
      onWait();
      await sleep(delay);
    }
  }
}

interface StorageFailure {
  status?: number;
  responseText?: string;
}

/**
 * S3 answers a presigned URL past its time with 403 "Request has expired", and Uppy then signs the part again
 * (its retry for exactly that message). S3-compatible stores word it their own way: any 403 that says it
 * expired counts the same.
 */
export function asExpired(error: unknown): unknown {
  if (!(error instanceof Error) || error.message === 'Request has expired') return error;
  const source = (error as { source?: StorageFailure }).source;
  if (source?.status !== 403 || !/expired/i.test(source.responseText ?? '')) return error;
  return Object.assign(new Error('Request has expired'), { source });
}

/** Does Uppy try this part again (its HTTPCommunicationQueue's rule): no answer, a 5xx, 400, 409, 429 or an
 * expired URL, yes; another 4xx, no. */
export function retriedByUppy(failure: unknown): boolean {
  const status = storageStatus(failure);
  if (status === undefined) return false;
  if (status === 403) return (failure as Error).message === 'Request has expired';
  return status === 429 || status === 409 || status <= 400 || status >= 500;
}

/** The storage's HTTP status behind a failed part PUT (0: no answer at all), or undefined for anything else. */
export function storageStatus(error: unknown): number | undefined {
  const status = (error as { source?: StorageFailure } | undefined)?.source?.status;
  return typeof status === 'number' ? status : undefined;
}

export function createUploader(options: Options): Upload {
  const { dropoff, code, store, status } = options;
  const delays = options.retryDelays ?? RETRY_DELAYS;
  const uppy: Upload = new Uppy<Meta, Body>({ autoProceed: false, allowMultipleUploadBatches: true });

  const sessions = new Map<string, Session>(); // upload id → its secret and part size
  const keys = new Map<string, string>(); // file id → its key in the store
  const admitted = new Map<string, Session>(); // file id → the upload the broker just started for it
  const partSizes = new WeakMap<Blob, number>(); // the file's data → the broker's part size for it
  const wholes = new Map<string, Promise<string>>(); // file id → the whole file's SHA-256, hex
  const signedFor = new WeakMap<AwsS3UploadParameters, { fileId: string; part: number }>();
  const backingOff = new Map<string, Set<number>>(); // file id → parts waiting to be tried again
  const refusals = new Map<string, unknown>(); // file id → the broker's refusal to sign one of its parts
  const refusedSignatures = new WeakMap<AwsS3UploadParameters, unknown>(); // a stand-in signature → that refusal

  const secretOf = (uploadId: string): string => {
    const session = sessions.get(uploadId);
    if (!session) throw new Error(`No secret for upload ${uploadId}`);
    return session.upload_secret;
  };
  const wholeOf = (fileId: string, data: Blob): Promise<string> => {
    let whole = wholes.get(fileId);
    if (!whole) {
      whole = sha256File(data);
      whole.catch(() => undefined);
      wholes.set(fileId, whole);
    }
    return whole;
  };
  const waiting = (fileId: string, part: number) => {
    const parts = backingOff.get(fileId) ?? new Set<number>();
    parts.add(part);
    backingOff.set(fileId, parts);
    status(fileId, 'waiting');
  };
  const through = (fileId: string, part: number) => {
    const parts = backingOff.get(fileId);
    parts?.delete(part);
    if (!parts?.size) status(fileId, 'uploading');
  };
  const forget = (fileId: string, uploadId?: string) => {
    const key = keys.get(fileId);
    if (key) store.delete(key);
    if (uploadId) sessions.delete(uploadId);
    wholes.delete(fileId);
    backingOff.delete(fileId);
    refusals.delete(fileId);
  };

  /**
   * Uppy signs a part again after any failure of signPart, a refusal too (only after its retry delays would the
   * file stop), but it does not retry a part PUT that failed without an HTTP status. So a refusal comes back as a
   * stand-in signature that uploadPartBytes throws at once: Uppy ends the file with that error (its upload-error,
   * the file's other requests aborted), and keeps the upload (abortMultipartUpload below) for Upload to go on with.
   */
  const refusedSignature = (refusal: unknown): AwsS3UploadParameters => {
    const signature: AwsS3UploadParameters = { method: 'PUT', url: '' };
    refusedSignatures.set(signature, refusal);
    return signature;
  };

  /** An upload the store kept for this file: resumed (true) if the broker still has it open, else forgotten. */
  const resume = async (file: UploadFile, data: Blob, key: string, stored: Session): Promise<boolean> => {
    const onWait = () => status(file.id, 'waiting');
    let progress;
    try {
      progress = await withRetry(() => dropoff.progress(stored.upload_id, stored.upload_secret), delays, onWait);
    } catch (error) {
      if (retryable(error)) throw error;
      store.delete(key); // expired, replaced code, gone: start afresh
      return false;
    }
    if (progress.state === 'admitted') {
      sessions.set(stored.upload_id, stored);
      partSizes.set(data, progress.part_size);
      // With an upload id and key in its state, Uppy lists the parts S3 holds (listParts) and sends the rest.
      uppy.setFileState(file.id, { s3Multipart: { key: stored.upload_id, uploadId: stored.upload_id } } as Partial<UploadFile>);
      return true;
    }
    if (progress.state === 'received') {
      status(file.id, 'completing'); // joined before the reload: completing again answers its record
      const digest = await wholeOf(file.id, data);
      const recorded = await withRetry(() => dropoff.complete(stored.upload_id, stored.upload_secret, digest), delays, onWait);
      store.delete(key);
      uppy.emit('upload-success', uppy.getFile(file.id), { status: 200, body: recorded });
      return true;
    }
    store.delete(key);
    return false;
  };

  /** The broker's admission of one file before a byte goes: its rules refuse it here, or it gets its upload. */
  const admit = async (file: UploadFile, data: Blob) => {
    const key = fingerprint(code, file.name ?? '', data);
    keys.set(file.id, key);
    status(file.id, 'hashing');
    void wholeOf(file.id, data);
    const stored = store.get(key);
    if (stored && (await resume(file, data, key, stored))) return;
    const sender = options.sender();
    const started = await withRetry(
      () =>
        dropoff.start({
          upload_code: code,
          filename: file.name ?? '',
          size: data.size,
          filetype: data.type || null,
          sender_name: sender.name?.trim() || null,
          sender_email: sender.email?.trim() || null,
        }),
      delays,
      () => status(file.id, 'waiting'),
    );
    const session = { upload_id: started.upload_id, upload_secret: started.upload_secret, part_size: started.part_size };
    sessions.set(session.upload_id, session);
    if (!uppy.getFile(file.id)) {
      await dropoff.abort(session.upload_id, session.upload_secret).catch(() => undefined); // removed meanwhile
      return;
    }
    store.set(key, session);
    partSizes.set(data, session.part_size);
    admitted.set(file.id, session);
  };

  uppy.addPreProcessor(async (fileIDs) => {
    await Promise.all(
      fileIDs.map(async (id) => {
        const file = uppy.getFile(id);
        if (!file || file.error || file.progress.uploadComplete || !(file.data instanceof Blob)) return;
        refusals.delete(id); // Upload again: the broker is asked afresh
        try {
          await admit(file, file.data);
        } catch (error) {
          const current = uppy.getFile(id);
          if (current) uppy.emit('upload-error', current, error instanceof Error ? error : new Error(String(error)));
        }
      }),
    );
  });

  uppy.use(AwsS3<Meta, Body>, {
    shouldUseMultipart: true, // every file, even one smaller than a part: the broker only does multipart
    limit: options.limit ?? 4,
    retryDelays: delays,
    // The broker fixes the part size at admission (larger for a file that would need too many parts).
    getChunkSize: (data) => partSizes.get(data as Blob) ?? DEFAULT_PART,

    createMultipartUpload(file) {
      const session = admitted.get(file.id);
      if (!session) throw new Error(`${file.name} was not admitted`);
      admitted.delete(file.id);
      return { uploadId: session.upload_id, key: session.upload_id };
    },

    async listParts(file, { uploadId, signal }): Promise<AwsS3Part[]> {
      const id = uploadId ?? '';
      const onWait = () => status(file.id, 'waiting');
      const progress = await withRetry(() => dropoff.progress(id, secretOf(id), signal), delays, onWait, signal);
      if (progress.state !== 'admitted') {
        throw new ApiError({ status: 409, detail: `This upload was ${progress.state}; start it again.` });
      }
      return progress.parts.map((p) => ({ PartNumber: p.number, Size: p.size, ETag: p.etag }));
    },

    async signPart(file, { uploadId, partNumber, body, signal }): Promise<AwsS3UploadParameters> {
      const refused = refusals.get(file.id);
      if (refused) return refusedSignature(refused); // another part was refused: no more calls for this file
      // S3 checks the part against the SHA-256 the broker signed into the URL, sent as x-amz-checksum-sha256.
      const checksum = await sha256Hex(body);
      try {
        const signed = await dropoff.signPart(uploadId, secretOf(uploadId), partNumber, checksum, signal);
        const signature: AwsS3UploadParameters = { method: 'PUT', url: signed.url, headers: signed.headers };
        signedFor.set(signature, { fileId: file.id, part: partNumber });
        return signature;
      } catch (error) {
        if (signal?.aborted) throw error;
        if (!retryable(error)) {
          refusals.set(file.id, error);
          return refusedSignature(error);
        }
        waiting(file.id, partNumber); // Uppy signs again after a wait
        throw error;
      }
    },

    async uploadPartBytes(request) {
      if (refusedSignatures.has(request.signature)) throw refusedSignatures.get(request.signature);
      const part = signedFor.get(request.signature);
      if (part && !backingOff.get(part.fileId)?.size) status(part.fileId, 'uploading');
      try {
        const sent = await AwsS3.uploadPartBytes(request);
        if (part) through(part.fileId, part.part);
        return sent;
      } catch (error) {
        const failure = asExpired(error);
        if (part && !request.signal?.aborted && retriedByUppy(failure)) waiting(part.fileId, part.part);
        throw failure;
      }
    },

    async completeMultipartUpload(file, { uploadId, signal }) {
      status(file.id, 'completing');
      if (!(file.data instanceof Blob)) throw new Error(`${file.name} has no data`);
      const digest = await wholeOf(file.id, file.data);
      const id = uploadId ?? '';
      const onWait = () => status(file.id, 'waiting');
      const recorded = await withRetry(() => dropoff.complete(id, secretOf(id), digest, signal), delays, onWait, signal);
      forget(file.id, uploadId);
      return recorded as Recorded & { location?: string };
    },

    async abortMultipartUpload(file, { uploadId }) {
      // Uppy calls this after a part failed for good too; that upload stays open in storage so that Upload
      // (or a reload) goes on with it. Only a file the person removed is aborted.
      if (uppy.getFile(file.id) || !uploadId) return;
      const secret = sessions.get(uploadId)?.upload_secret;
      forget(file.id, uploadId);
      if (secret) await dropoff.abort(uploadId, secret);
    },
  });

  // A file removed before Uppy started its upload (chosen again after a reload, say) may still have one open.
  uppy.on('file-removed', (file) => {
    if ((file as { s3Multipart?: { uploadId?: string } }).s3Multipart?.uploadId) return; // the S3 plugin aborts it
    const data = file.data instanceof Blob ? file.data : undefined;
    const key = keys.get(file.id) ?? (data ? fingerprint(code, file.name ?? '', data) : undefined);
    const stored = key ? store.get(key) : undefined;
    if (!key || !stored) return;
    store.delete(key);
    forget(file.id);
    dropoff.abort(stored.upload_id, stored.upload_secret).catch(() => undefined);
  });
  return uppy;
}
