// Workspaces: a study's list, requesting one from the catalog (with the cost estimate and the study's quota),
// and a workspace's page: live status by polling, its events, the actions its state allows, expiry, access.
import { useEffect, useState } from 'preact/hooks';
import { unwrap } from '../api/client';
import type { components } from '../api/schema';
import { ErrorSummary, Form, Loading, SelectField, TextField, useAction, useLoad } from '../components/forms';
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

export function WorkspaceTable({ workspaces }: { workspaces: readonly Workspace[] }) {
  const { t, locale } = useApp();
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">{t('workspaces.name')}</th>
          <th scope="col">{t('workspaces.status')}</th>
          <th scope="col">{t('workspaces.machine')}</th>
          <th scope="col">{t('workspaces.costPerDay')}</th>
          <th scope="col">{t('workspaces.expires')}</th>
        </tr>
      </thead>
      <tbody>
        {workspaces.map((w) => (
          <tr key={w.id}>
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
        ))}
      </tbody>
    </table>
  );
}

export function StudyWorkspaces({ study }: { study: Study }) {
  const { api, t } = useApp();
  const list = useLoad(
    () => unwrap(api.GET('/studies/{study_id}/workspaces', { params: { path: { study_id: study.id }, query: { limit: 100 } } })),
    [study.id],
  );
  const shown = list.data?.items.filter((w) => w.status !== 'DELETED') ?? [];
  return (
    <section aria-labelledby="workspaces-title">
      <h2 id="workspaces-title">{t('nav.workspaces')}</h2>
      {atLeast(study.role, 'contributor') && (
        <p>
          <a class="button" href={pathFor('/studies/:studyId/workspaces/new', { studyId: study.id })}>
            {t('workspaces.request')}
          </a>
        </p>
      )}
      {!list.data ? <Loading error={list.error} /> : shown.length === 0 ? <p>{t('common.none')}</p> : <WorkspaceTable workspaces={shown} />}
    </section>
  );
}

/** Every workspace of every study the researcher is in. */
export function WorkspacesPage() {
  const { api, t } = useApp();
  const all = useLoad(async () => {
    const studies = await unwrap(api.GET('/studies', { params: { query: { limit: 100 } } }));
    const lists = await Promise.all(
      studies.items.map((s) =>
        unwrap(api.GET('/studies/{study_id}/workspaces', { params: { path: { study_id: s.id }, query: { limit: 100 } } })),
      ),
    );
    return lists.flatMap((page) => page.items).filter((w) => w.status !== 'DELETED');
  }, []);
  return (
    <>
      <h1>{t('nav.workspaces')}</h1>
      {!all.data ? <Loading error={all.error} /> : all.data.length === 0 ? <p>{t('workspaces.empty')}</p> : <WorkspaceTable workspaces={all.data} />}
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
  const events = useLoad(() => unwrap(api.GET('/workspaces/{workspace_id}/events', { params: { path, query: { limit: 50 } } })), [workspaceId, workspace.data?.status]);
  const status = workspace.data?.status;
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
        {!events.data ? (
          <Loading error={events.error} />
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('workspaces.when')}</th>
                <th scope="col">{t('workspaces.status')}</th>
                <th scope="col">{t('workspaces.reason')}</th>
              </tr>
            </thead>
            <tbody>
              {events.data.items.map((event, index) => (
                <tr key={index}>
                  <td>{formatDateTime(event.at, locale)}</td>
                  <td>
                    {event.previous ? `${t(`status.${event.previous}`)} → ` : ''}
                    {t(`status.${event.status}`)}
                  </td>
                  <td>{event.reason || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
