// The runtime configuration, fetched from /config.json so that one build serves every stage: the local stack
// writes its own ports there, a deployed stage the URLs of its API and drop-off.

export interface RuntimeConfig {
  /** The API's base URL, without a trailing slash. */
  readonly apiBaseUrl: string;
  /** Where researchers upload (tusd's page); absent where the stage has no drop-off. */
  readonly uploadBaseUrl: string | undefined;
}

export class ConfigError extends Error {}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function httpUrl(value: unknown, key: string): string {
  if (typeof value !== 'string' || !/^https?:\/\//.test(value)) {
    throw new ConfigError(`config.json: ${key} must be an http(s) URL`);
  }
  return value;
}

/** Validate the parsed config.json. */
export function parseConfig(raw: unknown): RuntimeConfig {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError('config.json is not a JSON object');
  const record = raw as Record<string, unknown>;
  const upload = record.upload_base_url;
  return {
    apiBaseUrl: trimSlash(httpUrl(record.api_base_url, 'api_base_url')),
    uploadBaseUrl: upload === undefined || upload === null ? undefined : httpUrl(upload, 'upload_base_url'),
  };
}

export async function loadConfig(fetcher: typeof fetch = fetch): Promise<RuntimeConfig> {
  const response = await fetcher('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new ConfigError(`config.json: HTTP ${response.status}`);
  return parseConfig(await response.json());
}
