// The typed API client: openapi-fetch over the generated schema, the session token as a bearer, and every
// failure (a problem document, a bare status, the network) thrown as one ApiError.
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { ApiError, networkError, problemFromResponse } from './problem';

export type Api = Client<paths>;

export interface TokenSource {
  /** The bearer token to send, or undefined when nobody is logged in. */
  token(): string | undefined;
  /** The API refused the token (401): it expired or was revoked. */
  rejected(): void;
}

export function createApi(baseUrl: string, tokens: TokenSource, fetcher?: typeof fetch): Api {
  const api = createClient<paths>({ baseUrl, ...(fetcher ? { fetch: fetcher } : {}) });
  const bearer: Middleware = {
    onRequest({ request }) {
      const token = tokens.token();
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
    onResponse({ response, request }) {
      if (response.status === 401 && request.headers.has('Authorization')) tokens.rejected();
      return response;
    },
  };
  api.use(bearer);
  return api;
}

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The data of a successful call, or an ApiError thrown with what the problem document says.
 * `await unwrap(api.GET('/me'))` keeps openapi-fetch's typing of `data`.
 */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await call;
  } catch (cause) {
    throw networkError(cause);
  }
  const { data, error, response } = result;
  if (!response.ok) throw problemFromResponse(response.status, error, response.statusText);
  return data as T;
}

export { ApiError };
