// Client-side routing by path: patterns like `/studies/:studyId`, matched in order; links and navigate()
// push history entries, and the back button re-renders through `popstate`.
import { useEffect, useState } from 'preact/hooks';

export interface Match<Name extends string = string> {
  readonly name: Name;
  readonly params: Readonly<Record<string, string>>;
}

export interface Route<Name extends string = string> {
  readonly name: Name;
  readonly pattern: string;
}

function segments(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

/** The first route whose pattern matches the path (trailing slashes ignored), with its decoded parameters. */
export function matchRoute<Name extends string>(
  routes: readonly Route<Name>[],
  path: string,
): Match<Name> | undefined {
  const actual = segments(path);
  for (const route of routes) {
    const wanted = segments(route.pattern);
    if (wanted.length !== actual.length) continue;
    const params: Record<string, string> = {};
    let matched = true;
    for (const [index, part] of wanted.entries()) {
      const value = actual[index] ?? '';
      if (part.startsWith(':')) {
        let decoded: string;
        try {
          decoded = decodeURIComponent(value);
        } catch {
          matched = false;
          break;
        }
        params[part.slice(1)] = decoded;
      } else if (part !== value) {
        matched = false;
        break;
      }
    }
    if (matched) return { name: route.name, params };
  }
  return undefined;
}

/** The path for a pattern with its parameters filled in (encoded). */
export function pathFor(pattern: string, params: Readonly<Record<string, string>> = {}): string {
  return (
    '/' +
    segments(pattern)
      .map((part) => {
        if (!part.startsWith(':')) return part;
        const value = params[part.slice(1)];
        if (value === undefined) throw new Error(`pathFor(${pattern}): missing ${part}`);
        return encodeURIComponent(value);
      })
      .join('/')
  );
}

/** Whether a click on a link is one to handle here rather than let the browser do (new tab, download…). */
export function isPlainClick(event: MouseEvent, anchor: HTMLAnchorElement, origin: string): boolean {
  return (
    event.button === 0 &&
    !event.defaultPrevented &&
    !event.metaKey &&
    !event.ctrlKey &&
    !event.shiftKey &&
    !event.altKey &&
    (!anchor.target || anchor.target === '_self') &&
    !anchor.hasAttribute('download') &&
    anchor.origin === origin &&
    // The upload page is another entry of the build, not a route of the console.
    !anchor.pathname.startsWith('/upload/')
  );
}

const CHANGE = 'vre:navigate';

export function navigate(to: string, { replace = false } = {}): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(CHANGE));
}

export interface Location {
  readonly path: string;
  readonly query: URLSearchParams;
}

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

/** The current location, re-rendering on navigate() and the back and forward buttons. */
export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return location;
}

/** Route same-origin link clicks through navigate() (installed once on the document). */
export function interceptLinks(root: Document = document): () => void {
  const onClick = (event: MouseEvent) => {
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!(anchor instanceof HTMLAnchorElement) || !anchor.href) return;
    if (!isPlainClick(event, anchor, window.location.origin)) return;
    event.preventDefault();
    navigate(anchor.pathname + anchor.search + anchor.hash);
  };
  root.addEventListener('click', onClick);
  return () => root.removeEventListener('click', onClick);
}
