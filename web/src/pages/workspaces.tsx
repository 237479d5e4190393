// Workspaces: a study's list, requesting one from the catalog (with the cost estimate and the study's quota),
// and a workspace's page: live status by polling, its events, the actions its state allows, expiry, access.
import { useEffect, useRef, useState } from 'preact/hooks';
import { unwrap } from '../api/client';
import type { components } from '../api/schema';
import { ErrorSummary, Form, Loading, SelectField, TextField, useAction, useLoad } from '../components/forms';
import { fetchAll, PAGE_SIZE, PagedSection, PagedTable, usePaged } from '../components/paged';
import { useApp } from '../context';
import { defaultNetwork, estimateCost, profileVcpus, storageFor } from '../cost';
import { formatDateTime, formatMoney } from '../format';
import { navigate, pathFor } from '../router';
import { atLeast, type Study } from './studies';

export type Workspace = components['schemas']['WorkspaceView'];
export type Status = Workspace['status'];

/** Statuses that change on their own: the page polls while the workspace is in one. */
export const MOVING: ReadonlySet<Status> = new Set<Status>([
  'REQUESTED',
  'PROVISIONING',
  'CONFIGURING',
  'STARTING',
  'STOPPING',
  'REBOOTING',
  'DELETING',
]);
export const POLL_MILLISECONDS = 2000;

type Action = 'start' | 'stop' | 'reboot' | 'retry';

/** The actions a workspace's status allows (the API says 409 to the others; the page does not offer them). */
export function allowedActions(status: Status): { actions: Action[]; deletable: boolean } {
  switch (status) {
    case 'RUNNING':
      return { actions: ['stop', 'reboot'], deletable: true };
    case 'STOPPED':
      return { actions: ['start'], deletable: true };
    case 'FAILED':
      return { actions: ['retry'], deletable: true };
    case 'DELETED':
    case 'DELETING':
      return { actions: [], deletable: false };
    default:
      return { actions: [], deletable: false };
  }
}

function StatusBadge({ status }: { status: Status }) {
  const { t } = useApp();
  return <span class={`status status-${status.toLowerCase()}`}>{t(`status.${status}`)}</span>;
}

function WorkspaceHead() {
  const { t } = useApp();
  return (
    <>
      <th scope="col">{t('workspaces.name')}</th>
      <th scope="col">{t('workspaces.status')}</th>
      <th scope="col">{t('workspaces.machine')}</th>
      <th scope="col">{t('workspaces.costPerDay')}</th>
      <th scope="col">{t('workspaces.expires')}</th>
    </>
  );
}

function WorkspaceRow({ workspace: w }: { workspace: Workspace }) {
  const { locale } = useApp();
  return (
    <tr>
      <td>
        <a href={pathFor('/studies/:studyId/workspaces/:workspaceId', { studyId: w.study_id, workspaceId: w.id })}>{w.name}</a>
      </td>
      <td>
        <StatusBadge status={w.status} />
      </td>
      <td>
        {w.machine.profile} · {w.machine.operating_system}
      </td>
      <td>{formatMoney(w.cost_estimate.per_day, locale, w.cost_estimate.currency)}</td>
      <td>{formatDateTime(w.expires_at, locale)}</td>
    </tr>
  );
}

const notDeleted = (w: Workspace) => w.status !== 'DELETED';

export function StudyWorkspaces({ study }: { study: Study }) {
  const { api, t } = useApp();
  const list = usePaged(
    (cursor) => unwrap(api.GET('/studies/{study_id}/workspaces', { params: { path: { study_id: study.id }, query: { limit: PAGE_SIZE, cursor } } })),
    [study.id],
  );
  return (
    <PagedSection
      id="workspaces-title"
      title={t('nav.workspaces')}
      paged={list}
      show={notDeleted}
      head={<WorkspaceHead />}
      row={(w) => <WorkspaceRow key={w.id} workspace={w} />}
    >
      {atLeast(study.role, 'contributor') && (
        <p>
          <a class="button" href={pathFor('/studies/:studyId/workspaces/new', { studyId: study.id })}>
            {t('workspaces.request')}
          </a>
        </p>
      )}
    </PagedSection>
  );
}

/**
 * Every workspace of every study the researcher is in, in one table: every page of their studies, then every page
 * of each study's workspaces (a researcher is in a handful of studies; the table must not end at the first page).
 */
export function WorkspacesPage() {
  const { api, t } = useApp();
  const all = useLoad(async () => {
    const studies = await fetchAll((cursor) => unwrap(api.GET('/studies', { params: { query: { limit: 100, cursor } } })));
    const lists = await Promise.all(
      studies.map((s) =>
        fetchAll((cursor) =>
          unwrap(api.GET('/studies/{study_id}/workspaces', { params: { path: { study_id: s.id }, query: { limit: 100, cursor } } })),
        ),
      ),
    );
    return lists.flat().filter(notDeleted);
  }, []);
  return (
    <>
      <h1>{t('nav.workspaces')}</h1>
      {!all.data ? (
        <Loading error={all.error} />
      ) : all.data.length === 0 ? (
        <p>{t('workspaces.empty')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <WorkspaceHead />
            </tr>
          </thead>
          <tbody>
            {all.data.map((w) => (
              <WorkspaceRow key={w.id} workspace={w} />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

const FIELD_KEYS = {
  name: 'workspaces.name',
  profile: 'workspaces.profile',
  operating_system: 'workspaces.os',
  storage_gb: 'workspaces.storage',
  network: 'workspaces.network',
  expires_at: 'workspaces.expires',
} as const;

/** A `<input type="date">` value as the end of that day in UTC, for the API's `expires_at`. */
export function endOfDay(date: string): string | null {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T23:59:59Z` : null;
}

export function NewWorkspacePage({ studyId }: { studyId: string }) {
  const { api, t, locale } = useApp();
  const loaded = useLoad(async () => {
    const [catalog, usage, study] = await Promise.all([
      unwrap(api.GET('/catalog')),
      unwrap(api.GET('/studies/{study_id}/usage', { params: { path: { study_id: studyId } } })),
      unwrap(api.GET('/studies/{study_id}', { params: { path: { study_id: studyId } } })),
    ]);
    return { catalog, usage, study };
  }, [studyId]);
  const [name, setName] = useState('');
  const [profile, setProfile] = useState('');
  const [os, setOs] = useState('');
  const [storage, setStorage] = useState('');
  const [network, setNetwork] = useState('');
  const [expires, setExpires] = useState('');
  const [sshKey, setSshKey] = useState('');
  const request = useAction(async () => {
    const body = {
      name: name.trim(),
      profile,
      operating_system: os,
      storage_gb: storage ? Number(storage) : null,
      network: network || null,
      expires_at: endOfDay(expires),
      ssh_public_key: sshKey.trim() || null,
    };
    const created = await unwrap(api.POST('/studies/{study_id}/workspaces', { params: { path: { study_id: studyId } }, body }));
    navigate(pathFor('/studies/:studyId/workspaces/:workspaceId', { studyId, workspaceId: created.id }));
  });
  useEffect(() => {
    const catalog = loaded.data?.catalog;
    if (!catalog) return;
    setProfile((value) => value || (catalog.profiles[0]?.id ?? ''));
    setOs((value) => value || (catalog.operating_systems[0]?.id ?? ''));
  }, [loaded.data]);
  if (!loaded.data) return <Loading error={loaded.error} />;
  const { catalog, usage, study } = loaded.data;
  const cost = estimateCost(catalog, {
    profile,
    operating_system: os,
    storage_gb: storage ? Number(storage) : undefined,
    network: network || undefined,
  });
  const vcpus = profileVcpus(catalog, profile);
  const overQuota = usage.workspaces + 1 > usage.quota.max_workspaces || usage.vcpus + vcpus > usage.quota.max_vcpus;
  const labels = Object.fromEntries(Object.entries(FIELD_KEYS).map(([k, v]) => [k, t(v)]));
  const money = (value: number) => formatMoney(value, locale, catalog.currency);
  return (
    <>
      <h1>{t('workspaces.requestIn', { study: study.name })}</h1>
      <Form onSubmit={() => request.run()}>
        <ErrorSummary error={request.error} fields={labels} />
        <TextField name="name" label={labels.name!} required value={name} onValue={setName} error={request.error} />
        <SelectField
          name="profile"
          label={labels.profile!}
          value={profile}
          onValue={setProfile}
          error={request.error}
          options={catalog.profiles.map((p) => ({ value: p.id, label: `${p.name} (${money(p.price_per_day)} ${t('workspaces.perDay')})` }))}
        />
        <SelectField
          name="operating_system"
          label={labels.operating_system!}
          value={os}
          onValue={setOs}
          error={request.error}
          options={catalog.operating_systems.map((o) => ({ value: o.id, label: `${o.name} (${money(o.price_per_day)} ${t('workspaces.perDay')})` }))}
        />
        <SelectField
          name="storage_gb"
          label={labels.storage_gb!}
          value={storage}
          onValue={setStorage}
          error={request.error}
          options={[
            { value: '', label: `${t('workspaces.default')}: ${storageFor(catalog, undefined)?.name ?? '—'}` },
            ...catalog.storage.map((s) => ({ value: s.attributes.size_gb ?? '', label: `${s.name} (${money(s.price_per_day)} ${t('workspaces.perDay')})` })),
          ]}
        />
        <SelectField
          name="network"
          label={labels.network!}
          value={network}
          onValue={setNetwork}
          error={request.error}
          options={[
            { value: '', label: `${t('workspaces.default')}: ${defaultNetwork(catalog)?.name ?? '—'}` },
            ...catalog.networks.map((n) => ({ value: n.id, label: n.name })),
          ]}
        />
        <TextField name="expires_at" type="date" label={labels.expires_at!} hint={t('workspaces.expiresHint')} value={expires} onValue={setExpires} error={request.error} />
        <TextField name="ssh_public_key" label={t('workspaces.sshKey')} hint={t('workspaces.sshKeyHint')} value={sshKey} onValue={setSshKey} error={request.error} />
        <div class="notice" aria-live="polite" id="estimate">
          <strong>{t('workspaces.estimate')}</strong>{' '}
          {cost ? t('workspaces.estimateIs', { day: money(cost.perDay), month: money(cost.perMonth) }) : '—'}
          <br />
          {t('workspaces.quota', {
            workspaces: usage.workspaces,
            maxWorkspaces: usage.quota.max_workspaces,
            vcpus: usage.vcpus,
            maxVcpus: usage.quota.max_vcpus,
          })}
          {overQuota && <p class="field-error">{t('workspaces.overQuota')}</p>}
        </div>
        <div class="actions">
          <button type="submit" disabled={request.busy}>
            {t('workspaces.submit')}
          </button>
          <a href={pathFor('/studies/:studyId', { studyId })}>{t('common.cancel')}</a>
        </div>
      </Form>
    </>
  );
}

export function WorkspacePage({ studyId, workspaceId }: { studyId: string; workspaceId: string }) {
  const { api, t, locale } = useApp();
  const path = { workspace_id: workspaceId };
  const workspace = useLoad(() => unwrap(api.GET('/workspaces/{workspace_id}', { params: { path } })), [workspaceId]);
  const events = usePaged(
    (cursor) => unwrap(api.GET('/workspaces/{workspace_id}/events', { params: { path, query: { limit: PAGE_SIZE, cursor } } })),
    [workspaceId],
  );
  const status = workspace.data?.status;
  // A new status comes with a new event: fetch the events again, keeping the rows shown meanwhile.
  const seenStatus = useRef(status);
  useEffect(() => {
    if (seenStatus.current !== undefined && status !== seenStatus.current) events.reload();
    seenStatus.current = status;
  }, [status]);
  // Poll while the workspace is on its way somewhere; stop once it settles (and when the page goes).
  useEffect(() => {
    if (!status || !MOVING.has(status)) return;
    const timer = window.setTimeout(workspace.reload, POLL_MILLISECONDS);
    return () => window.clearTimeout(timer);
  });
  const act = useAction(async (action: Action) => {
    const changed = await unwrap(api.POST(`/workspaces/{workspace_id}/${action}`, { params: { path } }));
    workspace.setData(changed);
  });
  const remove = useAction(async () => {
    workspace.setData(await unwrap(api.DELETE('/workspaces/{workspace_id}', { params: { path } })));
  });
  const [expires, setExpires] = useState('');
  const extend = useAction(async () => {
    workspace.setData(await unwrap(api.PATCH('/workspaces/{workspace_id}', { params: { path }, body: { expires_at: endOfDay(expires) ?? expires } })));
    setExpires('');
  });
  if (!workspace.data) return <Loading error={workspace.error} />;
  const w = workspace.data;
  const { actions, deletable } = allowedActions(w.status);
  return (
    <>
      <p>
        <a href={pathFor('/studies/:studyId', { studyId })}>{t('common.back')}</a>
      </p>
      <h1>{w.name}</h1>
      <p aria-live="polite">
        {t('workspaces.status')}: <StatusBadge status={w.status} />
        {MOVING.has(w.status) && <span class="muted"> · {t('workspaces.polling')}</span>}
        {w.status_reason && <span> · {w.status_reason}</span>}
      </p>
      <ErrorSummary error={act.error ?? remove.error} />
      <div class="actions">
        {actions.map((action) => (
          <button key={action} type="button" disabled={act.busy} onClick={() => act.run(action)}>
            {t(`workspaces.action.${action}`)}
          </button>
        ))}
        {deletable && (
          <button type="button" class="danger" disabled={remove.busy} onClick={() => confirm(t('workspaces.deleteConfirm', { name: w.name })) && remove.run()}>
            {t('common.delete')}
          </button>
        )}
      </div>
      <section aria-labelledby="access-title">
        <h2 id="access-title">{t('workspaces.access')}</h2>
        <dl class="facts">
          <dt>{t('workspaces.url')}</dt>
          <dd>{w.access.url ? <a href={w.access.url} target="_blank" rel="noopener noreferrer">{w.access.url}</a> : '—'}</dd>
          <dt>{t('workspaces.ip')}</dt>
          <dd>{w.access.ip ?? '—'}</dd>
          <dt>{t('workspaces.username')}</dt>
          <dd>{w.access.username ?? '—'}</dd>
        </dl>
      </section>
      <section aria-labelledby="machine-title">
        <h2 id="machine-title">{t('workspaces.machine')}</h2>
        <dl class="facts">
          <dt>{t('workspaces.profile')}</dt>
          <dd>
            {w.machine.profile} ({w.machine.vcpus} vCPU, {w.machine.ram_gb} GB{w.machine.gpu ? ', GPU' : ''})
          </dd>
          <dt>{t('workspaces.os')}</dt>
          <dd>{w.machine.operating_system}</dd>
          <dt>{t('workspaces.storage')}</dt>
          <dd>{w.machine.storage_gb} GB</dd>
          <dt>{t('workspaces.network')}</dt>
          <dd>{w.machine.network}</dd>
          <dt>{t('workspaces.estimate')}</dt>
          <dd>
            {t('workspaces.estimateIs', {
              day: formatMoney(w.cost_estimate.per_day, locale, w.cost_estimate.currency),
              month: formatMoney(w.cost_estimate.per_month, locale, w.cost_estimate.currency),
            })}
          </dd>
          <dt>{t('workspaces.expires')}</dt>
          <dd>{formatDateTime(w.expires_at, locale)}</dd>
        </dl>
        {w.status !== 'DELETED' && w.status !== 'DELETING' && (
          <Form onSubmit={() => extend.run()} label={t('workspaces.extend')}>
            <ErrorSummary error={extend.error} fields={{ expires_at: t('workspaces.newExpiry') }} />
            <TextField name="expires_at" type="date" label={t('workspaces.newExpiry')} required value={expires} onValue={setExpires} error={extend.error} />
            <div class="actions">
              <button type="submit" class="secondary" disabled={extend.busy || !expires}>
                {t('workspaces.extend')}
              </button>
            </div>
          </Form>
        )}
      </section>
      <section aria-labelledby="events-title">
        <h2 id="events-title">{t('workspaces.events')}</h2>
        <PagedTable
          paged={events}
          labelledBy="events-title"
          head={
            <>
              <th scope="col">{t('workspaces.when')}</th>
              <th scope="col">{t('workspaces.status')}</th>
              <th scope="col">{t('workspaces.reason')}</th>
            </>
          }
          row={(event, index) => (
            <tr key={index}>
              <td>{formatDateTime(event.at, locale)}</td>
              <td>
                {event.previous ? `${t(`status.${event.previous}`)} → ` : ''}
                {t(`status.${event.status}`)}
              </td>
              <td>{event.reason || '—'}</td>
            </tr>
          )}
        />
      </section>
    </>
  );
}
