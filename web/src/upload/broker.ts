// The broker's drop-off routes (/dropoff/uploads, API.md "Drop-off without an upload server"): start behind the
// upload code, then every call with the upload's secret as the Upload-Secret header. Failures are ApiErrors
// carrying the problem document's `detail`, which the page shows as it is.
import { ApiError, networkError, problemFromResponse } from '../api/problem';

export interface Offer {
  upload_code: string;
  filename: string;
  size: number;
  filetype?: string;
  sender_name?: string;
  sender_email?: string;
}

export interface Started {
  upload_id: string;
  upload_secret: string;
  part_size: number;
  part_count: number;
  expires_at: string;
}

export interface SignedPart {
  number: number;
  url: string;
  headers: Record<string, string>;
  expires_at: string;
}

export interface HeldPart {
  number: number;
  size: number;
  etag: string;
  checksum_sha256?: string;
}

export interface Progress {
  upload_id: string;
  state: 'admitted' | 'received' | 'aborted' | 'deleted';
  size: number;
  part_size: number;
  part_count: number;
  parts: HeldPart[];
  expires_at?: string;
}

export interface Recorded {
  id: string;
  file_name: string;
  size: number;
  status: string;
  checksum_sha256?: string;
  checksum_sha256_parts?: string;
}

export class Broker {
  constructor(
    private readonly baseUrl: string,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {}

  private async call<T>(method: string, path: string, secret?: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (secret) headers['Upload-Secret'] = secret;
    let response: Response;
    try {
      response = await this.fetcher(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      throw networkError(cause);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw problemFromResponse(response.status, parsed, response.statusText);
    return parsed as T;
  }

  start(offer: Offer): Promise<Started> {
    return this.call('POST', '/dropoff/uploads', undefined, offer);
  }

  signParts(id: string, secret: string, parts: { number: number; checksum_sha256: string }[]): Promise<SignedPart[]> {
    return this.call<{ parts: SignedPart[] }>('POST', `/dropoff/uploads/${enc(id)}/parts`, secret, { parts }).then(
      (r) => r.parts,
    );
  }

  progress(id: string, secret: string): Promise<Progress> {
    return this.call('GET', `/dropoff/uploads/${enc(id)}`, secret);
  }

  complete(id: string, secret: string, checksumSha256: string): Promise<Recorded> {
    return this.call('POST', `/dropoff/uploads/${enc(id)}/complete`, secret, { checksum_sha256: checksumSha256 });
  }

  async abort(id: string, secret: string): Promise<void> {
    await this.call('DELETE', `/dropoff/uploads/${enc(id)}`, secret);
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

/** Is this failure worth retrying (the network, a 5xx, throttling), or final (a refusal in plain words)? */
export function retryable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status === 429 || error.status >= 500;
}
