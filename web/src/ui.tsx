// Shared pieces of the console's pages.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Problem } from './api';

/** useAsync runs load when deps change (and every refreshMs when set). */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[], refreshMs = 0) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  const first = useRef(true);
  useEffect(() => {
    // New parameters: drop what was shown for the old ones.
    if (first.current) {
      first.current = false;
      return;
    }
    setData(undefined);
    setLoading(true);
  }, deps);
  useEffect(() => {
    let live = true;
    const run = () => {
      load().then(
        (d) => {
          if (live) {
            setData(d);
            setError(null);
            setLoading(false);
          }
        },
        (e) => {
          if (live) {
            setError(e);
            setLoading(false);
          }
        },
      );
    };
    run();
    const t = refreshMs > 0 ? setInterval(run, refreshMs) : undefined;
    return () => {
      live = false;
      if (t) clearInterval(t);
    };
  }, [...deps, refreshMs, n]);
  return { data, error, loading, reload: () => setN((x) => x + 1) };
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as any;
  const problems: Problem[] = e instanceof ApiError ? e.problems : [];
  return (
    <div class="error-box" role="alert">
      <strong>{e instanceof ApiError ? e.detail : String(e?.message || e)}</strong>
      {e instanceof ApiError && e.code && <span class="code"> ({e.code})</span>}
      {problems.length > 0 && (
        <ul>
          {problems.map((p) => (
            <li>
              {p.path || p.config_path ? <code>{p.path || p.config_path}</code> : null} {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading() {
  return (
    <p class="muted" role="status">
      Loading…
    </p>
  );
}

export function Page({ title, actions, children }: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · sluice`;
  }, [title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{title}</h1>
        {actions && <div class="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/** Badge shows a short state word in a colour meaning good, bad or neutral. */
export function Badge({ kind, children }: { kind: 'ok' | 'bad' | 'warn' | 'info'; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function statusKind(status: number): 'ok' | 'bad' | 'warn' | 'info' {
  if (status >= 500) return 'bad';
  if (status >= 400) return 'warn';
  if (status >= 200 && status < 400) return 'ok';
  return 'info';
}

export function fmtTime(t: string | number | Date): string {
  const d = new Date(t);
  return isNaN(d.getTime()) ? String(t) : d.toLocaleString(undefined, { hour12: false });
}

export function fmtNum(n: number, digits = 0): string {
  if (!isFinite(n)) return '–';
  return n.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function fmtMs(ms: number): string {
  if (!ms) return '0 ms';
  if (ms >= 1000) return `${fmtNum(ms / 1000, 2)} s`;
  return `${fmtNum(ms, ms < 10 ? 2 : 0)} ms`;
}

/** useFocusHeading moves focus to the page heading after navigation, for screen readers. */
export function useFocusHeading(key: string) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const h = document.getElementById('page-title');
    if (h) {
      h.setAttribute('tabindex', '-1');
      h.focus({ preventScroll: true });
    }
  }, [key]);
}
