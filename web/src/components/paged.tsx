// A paged list on a page: its rows, "Loading…", the empty text, the error, and a "Show more" button that keeps the
// keyboard's place (the focus moves to the first new row). PagedTable and PagedSection are the usual shapes.
import type { ComponentChildren, VNode } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { useApp } from '../context';
import { ErrorSummary } from './forms';
import type { Paged } from './pager';

export { fetchAll, PAGE_SIZE, usePaged, type Paged } from './pager';

/** The rows the focus may move to after "Show more": table rows, list items, or sections, in the frame itself. */
const ITEMS = ':scope > table > tbody > tr, :scope > ul > li, :scope > section';

interface FrameProps<T> {
  paged: Paged<T>;
  /** How many of the loaded items are shown (fewer when some are left out); all of them by default. */
  shown?: number;
  /** What to say when there is nothing (once loaded); "None yet." by default. */
  empty?: string;
  /** The id of the list's heading: "Show more" says which list it is for. */
  labelledBy?: string;
  /** The button's text, when "Show more" would not say what comes (more studies, each with a list of its own). */
  moreLabel?: string;
  /** The rows, rendered only when there is at least one. */
  children: ComponentChildren;
}

export function ListFrame<T>({ paged, shown = paged.items.length, empty, labelledBy, moreLabel, children }: FrameProps<T>) {
  const { t } = useApp();
  const frame = useRef<HTMLDivElement>(null);
  // How many rows there were when "Show more" was pressed; undefined when it was not.
  const before = useRef<number | undefined>(undefined);
  const rows = () => Array.from(frame.current?.querySelectorAll<HTMLElement>(ITEMS) ?? []);
  useEffect(() => {
    if (paged.loading || before.current === undefined) return;
    const first = rows()[before.current];
    before.current = undefined;
    // The first new row takes the focus (Tab goes on from there); with none and no button left, the list does.
    const target = first ?? (paged.more || paged.error ? undefined : frame.current);
    if (!target) return;
    if (!target.hasAttribute('tabindex')) target.tabIndex = -1;
    target.focus();
  }, [paged.loading]);
  const more = () => {
    if (paged.loading || !paged.more) return;
    before.current = rows().length;
    paged.more();
  };
  return (
    <div class="paged" ref={frame}>
      {shown > 0 && children}
      {paged.error !== undefined && <ErrorSummary error={paged.error} />}
      {!paged.loading && shown === 0 && paged.error === undefined && <p>{empty ?? t('common.none')}</p>}
      {paged.loading && <p role="status">{t('app.loading')}</p>}
      {paged.more && (
        <button
          type="button"
          class="secondary"
          aria-describedby={labelledBy}
          aria-disabled={paged.loading ? 'true' : undefined}
          onClick={more}
        >
          {moreLabel ?? t('common.more')}
        </button>
      )}
    </div>
  );
}

export interface PagedTableProps<T> extends Omit<FrameProps<T>, 'children' | 'shown'> {
  /** The header cells (`<th scope="col">`). */
  head: ComponentChildren;
  /** One item's `<tr>` (with its key; the index among the rows shown for a list without ids). */
  row: (item: T, index: number) => VNode;
  /** Which items to show (the others are loaded but left out, as deleted workspaces). */
  show?: (item: T) => boolean;
  caption?: string;
}

export function PagedTable<T>({ paged, head, row, show, caption, ...frame }: PagedTableProps<T>) {
  const items = show ? paged.items.filter(show) : paged.items;
  return (
    <ListFrame paged={paged} shown={items.length} {...frame}>
      <table aria-labelledby={frame.labelledBy}>
        {caption && <caption class="muted">{caption}</caption>}
        <thead>
          <tr>{head}</tr>
        </thead>
        <tbody>{items.map((item, index) => row(item, index))}</tbody>
      </table>
    </ListFrame>
  );
}

/** A section with its heading, then whatever comes first (forms, notices), then the paged table. */
export function PagedSection<T>({
  id,
  title,
  children,
  ...table
}: Omit<PagedTableProps<T>, 'labelledBy'> & { id: string; title: ComponentChildren; children?: ComponentChildren }) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
      <PagedTable {...table} labelledBy={id} />
    </section>
  );
}
