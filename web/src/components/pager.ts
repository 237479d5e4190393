// Paging through the API's lists (`?limit=&cursor=` in, `{items, next_cursor}` out): the first page, then the next
// on "Show more", items replaced in place after an action, and a reload that keeps as many rows as were shown.
import { useEffect, useState } from 'preact/hooks';

/** How many items the console asks for per page (the API allows 1..100; it answers 25 when not asked). */
export const PAGE_SIZE = 25;

export interface PageOf<T> {
  readonly items: readonly T[];
  readonly next_cursor?: string | null;
}

/** Fetch one page: the first for `undefined`, else the one `cursor` points at. */
export type Loader<T> = (cursor: string | undefined) => Promise<PageOf<T>>;

export interface PagedState<T> {
  readonly items: readonly T[];
  /** Where the next page starts; null once the last page is in. */
  readonly cursor: string | null;
  readonly loading: boolean;
  /** Why the last fetch failed (the rows already shown stay). */
  readonly error: unknown;
}

const START: PagedState<never> = { items: [], cursor: null, loading: true, error: undefined };

/**
 * The paging itself, free of Preact so it can be tested with a fake loader. Every change goes to `notify`; an
 * answer that arrives after a newer start or reload (or after `stop`) is dropped, so a slow page never lands late.
 */
export class Pager<T> {
  state: PagedState<T> = START;
  private generation = 0;

  constructor(
    public load: Loader<T>,
    private readonly notify: (state: PagedState<T>) => void,
  ) {}

  /** Forget what is shown and fetch the first page. */
  start(): Promise<void> {
    const generation = ++this.generation;
    this.set(START);
    return this.settle(generation, this.load(undefined), (page) => ({ items: page.items, cursor: page.next_cursor ?? null }));
  }

  /** Append the next page (nothing when the last page is in or a fetch is under way). */
  more(): Promise<void> {
    const { cursor, loading } = this.state;
    if (cursor === null || loading) return Promise.resolve();
    const generation = this.generation;
    this.set({ ...this.state, loading: true });
    return this.settle(generation, this.load(cursor), (page) => ({
      items: [...this.state.items, ...page.items],
      cursor: page.next_cursor ?? null,
    }));
  }

  /** Fetch again from the first page, as many pages as it takes to show as many rows as before; rows stay meanwhile. */
  reload(): Promise<void> {
    const generation = ++this.generation;
    const wanted = Math.max(this.state.items.length, 1);
    this.set({ ...this.state, loading: true });
    const fetchEnough = async (): Promise<PageOf<T>> => {
      const items: T[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await this.load(cursor);
        items.push(...page.items);
        cursor = page.next_cursor ?? undefined;
        if (!cursor || items.length >= wanted || generation !== this.generation) return { items, next_cursor: cursor ?? null };
      }
    };
    return this.settle(generation, fetchEnough(), (page) => ({ items: page.items, cursor: page.next_cursor ?? null }));
  }

  /** Put `item` where the row `same` says is it (an action's answer, shown without fetching the list again). */
  replace(item: T, same: (a: T, b: T) => boolean): void {
    this.set({ ...this.state, items: this.state.items.map((old) => (same(old, item) ? item : old)) });
  }

  /** Drop every answer still on its way (the component is gone). */
  stop(): void {
    this.generation++;
  }

  private async settle(
    generation: number,
    answer: Promise<PageOf<T>>,
    next: (page: PageOf<T>) => Pick<PagedState<T>, 'items' | 'cursor'>,
  ): Promise<void> {
    try {
      const page = await answer;
      if (generation === this.generation) this.set({ ...next(page), loading: false, error: undefined });
    } catch (caught) {
      if (generation === this.generation) this.set({ ...this.state, loading: false, error: caught ?? new Error(String(caught)) });
    }
  }

  private set(state: PagedState<T>): void {
    this.state = state;
    this.notify(state);
  }
}

export interface Paged<T> extends PagedState<T> {
  /** Fetch the next page; undefined when the last page is in. */
  readonly more: (() => void) | undefined;
  readonly replace: (item: T, same: (a: T, b: T) => boolean) => void;
  readonly reload: () => void;
}

/** A paged list in a component: the first page now and again whenever `deps` change (as `useLoad`'s deps). */
export function usePaged<T>(load: Loader<T>, deps: readonly unknown[]): Paged<T> {
  const [state, setState] = useState<PagedState<T>>(START);
  const [pager] = useState(() => new Pager<T>(load, setState));
  // The newest loader, whose closure has this render's values (a new function comes with every render).
  pager.load = load;
  useEffect(() => {
    void pager.start();
    return () => pager.stop();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return {
    ...state,
    more: state.cursor !== null ? () => void pager.more() : undefined,
    replace: (item, same) => pager.replace(item, same),
    reload: () => void pager.reload(),
  };
}

/** Every item of a list, page after page (for a view that must be whole, such as the workspaces of every study). */
export async function fetchAll<T>(load: Loader<T>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await load(cursor);
    items.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return items;
}
