// RFC 9457 problem documents (chalicelib/errors.py) as one typed error the pages can show: a sentence for the
// error summary and the messages of each field, to put beside that field.

export interface FieldErrors {
  readonly [field: string]: readonly string[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldErrors;
  readonly requestId: string | undefined;

  constructor(init: {
    status: number;
    type?: string;
    title?: string;
    detail: string;
    errors?: FieldErrors;
    requestId?: string;
  }) {
    super(init.detail);
    this.name = 'ApiError';
    this.status = init.status;
    this.type = init.type ?? 'about:blank';
    this.title = init.title ?? '';
    this.detail = init.detail;
    this.errors = init.errors ?? {};
    this.requestId = init.requestId;
  }

  /** The messages for one field (the API names body fields by their key, nested ones by a dotted path). */
  fieldErrors(field: string): readonly string[] {
    return this.errors[field] ?? [];
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Group the problem's `errors` list by field; entries that are not {field, message} strings are dropped. */
export function groupFieldErrors(errors: unknown): FieldErrors {
  const grouped: Record<string, string[]> = {};
  if (!Array.isArray(errors)) return grouped;
  for (const entry of errors) {
    if (!isRecord(entry) || typeof entry.field !== 'string' || typeof entry.message !== 'string') continue;
    // The API says `$.name` or `name` depending on where the check ran; the form knows the bare key.
    const field = entry.field.replace(/^\$\.?/, '') || '$';
    (grouped[field] ??= []).push(entry.message);
  }
  return grouped;
}

/**
 * The error for a failed response: a problem document when the body is one, otherwise a plain one from the
 * status (a proxy's HTML 502, an empty 504) so that nothing the server sends reaches the page raw.
 */
export function problemFromResponse(status: number, body: unknown, statusText = ''): ApiError {
  if (isRecord(body) && typeof body.detail === 'string') {
    return new ApiError({
      status: typeof body.status === 'number' ? body.status : status,
      type: typeof body.type === 'string' ? body.type : undefined,
      title: typeof body.title === 'string' ? body.title : undefined,
      detail: body.detail || (typeof body.title === 'string' ? body.title : statusText),
      errors: groupFieldErrors(body.errors),
      requestId: typeof body.request_id === 'string' ? body.request_id : undefined,
    });
  }
  return new ApiError({ status, detail: statusText || `HTTP ${status}` });
}

/** A network failure (the API unreachable, CORS refused) as the same kind of error, status 0. */
export function networkError(cause: unknown): ApiError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ApiError({ status: 0, type: 'network', detail });
}
