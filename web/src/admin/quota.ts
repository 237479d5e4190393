// A study's quota override as the admin types it: empty goes back to the stage's default (null), else a whole number.
export type QuotaField = 'max_workspaces' | 'max_vcpus';

export function parseQuota(
  values: Readonly<Record<QuotaField, string>>,
): { body: Record<QuotaField, number | null>; errors: Partial<Record<QuotaField, 'wholeNumber'>> } {
  const body = { max_workspaces: null, max_vcpus: null } as Record<QuotaField, number | null>;
  const errors: Partial<Record<QuotaField, 'wholeNumber'>> = {};
  for (const key of ['max_workspaces', 'max_vcpus'] as const) {
    const raw = values[key].trim();
    if (raw === '') continue;
    if (/^\d+$/.test(raw)) body[key] = Number(raw);
    else errors[key] = 'wholeNumber';
  }
  return { body, errors };
}

export const STATUSES = [
  'REQUESTED',
  'PROVISIONING',
  'CONFIGURING',
  'RUNNING',
  'STOPPING',
  'STOPPED',
  'STARTING',
  'REBOOTING',
  'FAILED',
  'DELETING',
  'DELETED',
] as const;
export type WorkspaceStatus = (typeof STATUSES)[number];

/** The status filter from the address bar's ?status=, or undefined for every workspace. */
export function statusFilter(query: URLSearchParams): WorkspaceStatus | undefined {
  const wanted = query.get('status')?.toUpperCase();
  return STATUSES.find((status) => status === wanted);
}
