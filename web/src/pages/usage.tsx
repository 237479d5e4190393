// A study's usage against its quota, and its audit log (admins).
import { unwrap } from '../api/client';
import { Loading, useLoad } from '../components/forms';
import { PAGE_SIZE, PagedSection, usePaged } from '../components/paged';
import { useApp } from '../context';
import { formatDate, formatDateTime, formatMoney } from '../format';

export function StudyUsage({ studyId }: { studyId: string }) {
  const { api, t, locale } = useApp();
  const usage = useLoad(() => unwrap(api.GET('/studies/{study_id}/usage', { params: { path: { study_id: studyId } } })), [studyId]);
  return (
    <section aria-labelledby="usage-title">
      <h2 id="usage-title">{t('usage.title')}</h2>
      {!usage.data ? (
        <Loading error={usage.error} />
      ) : (
        <dl class="facts">
          <dt>{t('usage.workspaces')}</dt>
          <dd>{t('usage.ofQuota', { used: usage.data.workspaces, max: usage.data.quota.max_workspaces })}</dd>
          <dt>{t('usage.vcpus')}</dt>
          <dd>{t('usage.ofQuota', { used: usage.data.vcpus, max: usage.data.quota.max_vcpus })}</dd>
          <dt>{t('usage.cost', { since: formatDate(usage.data.month_start, locale) })}</dt>
          <dd>{formatMoney(usage.data.cost_this_month, locale, usage.data.currency)}</dd>
        </dl>
      )}
    </section>
  );
}

export function StudyAudit({ studyId }: { studyId: string }) {
  const { api, t, locale } = useApp();
  const audit = usePaged(
    (cursor) => unwrap(api.GET('/studies/{study_id}/audit', { params: { path: { study_id: studyId }, query: { limit: PAGE_SIZE, cursor } } })),
    [studyId],
  );
  return (
    <PagedSection
      id="audit-title"
      title={t('audit.title')}
      paged={audit}
      head={
        <>
          <th scope="col">{t('workspaces.when')}</th>
          <th scope="col">{t('audit.actor')}</th>
          <th scope="col">{t('audit.action')}</th>
          <th scope="col">{t('audit.target')}</th>
          <th scope="col">{t('audit.outcome')}</th>
        </>
      }
      row={(entry) => (
        <tr key={entry.id}>
          <td>{formatDateTime(entry.at, locale)}</td>
          <td>{entry.actor_id}</td>
          <td>
            {entry.action}
            {entry.detail && <div class="muted">{entry.detail}</div>}
          </td>
          <td>{entry.target}</td>
          <td>{t(`audit.${entry.outcome}`)}</td>
        </tr>
      )}
    />
  );
}
