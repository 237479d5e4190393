// The broker's drop-off routes (/dropoff/uploads, API.md "Drop-off without an upload server") through the typed
// client: start behind the upload code, then every call with the upload's secret as its Upload-Secret header.
// Failures are ApiErrors carrying the problem document's `detail`, which the page shows as it is.
import { type Api, createApi, unwrap } from '../api/client';
import { ApiError } from '../api/problem';
import type { components } from '../api/schema';

type Schemas = components['schemas'];
export type Offer = Schemas['DropoffStart'];
export type Started = Schemas['DropoffStarted'];
export type Progress = Schemas['DropoffProgress'];
export type SignedPart = Schemas['SignedPartView'];
export type Recorded = Schemas['UploadView'];

/** Nobody logs in on the upload page: the code and the upload's secret are what open it. */
const anonymous = { token: () => undefined, rejected: () => undefined };

export class Dropoff {
  private readonly api: Api;

  constructor(baseUrl: string, fetcher?: typeof fetch) {
    this.api = createApi(baseUrl, anonymous, fetcher);
  }

  start(offer: Offer, signal?: AbortSignal): Promise<Started> {
    return unwrap(this.api.POST('/dropoff/uploads', { body: offer, signal }));
  }

  /** A presigned PUT for one part, bound to its SHA-256 (hex); `headers` must go with the PUT as they are. */
  async signPart(id: string, secret: string, number: number, checksumHex: string, signal?: AbortSignal): Promise<SignedPart> {
    const { parts } = await unwrap(
      this.api.POST('/dropoff/uploads/{upload_id}/parts', {
        params: { path: { upload_id: id }, header: { 'Upload-Secret': secret } },
        body: { parts: [{ number, checksum_sha256: checksumHex }] },
        signal,
      }),
    );
    const signed = parts.find((p) => p.number === number);
    if (!signed) throw new ApiError({ status: 502, detail: `The broker signed no URL for part ${number}.` });
    return signed;
  }

  progress(id: string, secret: string, signal?: AbortSignal): Promise<Progress> {
    return unwrap(
      this.api.GET('/dropoff/uploads/{upload_id}', {
        params: { path: { upload_id: id }, header: { 'Upload-Secret': secret } },
        signal,
      }),
    );
  }

  complete(id: string, secret: string, checksumHex: string, signal?: AbortSignal): Promise<Recorded> {
    return unwrap(
      this.api.POST('/dropoff/uploads/{upload_id}/complete', {
        params: { path: { upload_id: id }, header: { 'Upload-Secret': secret } },
        body: { checksum_sha256: checksumHex },
        signal,
      }),
    );
  }

  async abort(id: string, secret: string): Promise<void> {
    await unwrap(
      this.api.DELETE('/dropoff/uploads/{upload_id}', {
        params: { path: { upload_id: id }, header: { 'Upload-Secret': secret } },
      }),
    );
  }
}

/** Is this failure worth retrying (the network, a 5xx, throttling), or final (a refusal in plain words)? */
export function retryable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status === 429 || error.status >= 500;
}
