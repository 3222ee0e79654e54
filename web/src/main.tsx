// The sluice console: a single-page app on the admin API.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, setUnauthorizedHandler } from './api';
import { navigate, useLocation } from './router';
import { Loading, useFocusHeading } from './ui';
import { Login } from './pages/login';
import { Dashboard } from './pages/dashboard';
import { Logs, LogEntry } from './pages/logs';
import { EntityList, EntityEdit } from './pages/entities';
import { Account } from './pages/account';
import { Playground } from './pages/playground';
import { Config } from './pages/config';
import { kinds } from './pages/kinds';
import './style.css';

const nav: [string, string][] = [
  ['/', 'Dashboard'],
  ['/routes', 'Routes'],
  ['/upstreams', 'Upstreams'],
  ['/consumers', 'Consumers'],
  ['/plugins', 'Plugins'],
  ['/ai/providers', 'AI providers'],
  ['/ai/models', 'AI models'],
  ['/playground', 'Playground'],
  ['/logs', 'Logs'],
  ['/config', 'Config'],
  ['/account', 'Account'],
];

function isCurrent(href: string, path: string) {
  return href === '/' ? path === '/' : path === href || path.startsWith(href + '/');
}

function Shell() {
  const { path, query } = useLocation();
  const [state, setState] = useState<'checking' | 'in' | 'out'>('checking');
  const [status, setStatus] = useState<any>(null);
  useFocusHeading(path);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setState('out');
      if (location.pathname !== '/login') {
        navigate('/login' + `?next=${encodeURIComponent(location.pathname + location.search)}&expired=1`, true);
      }
    });
  }, []);
  useEffect(() => {
    if (state === 'out') return;
    get('/status').then(
      (s) => {
        setStatus(s);
        setState('in');
      },
      () => setState('out'),
    );
  }, [state === 'out']);

  if (path === '/login' || state === 'out') {
    return (
      <Login
        expired={query.get('expired') === '1'}
        onLogin={() => {
          setState('in');
          const next = query.get('next');
          navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
        }}
      />
    );
  }
  if (state === 'checking') return <Loading />;
  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/" aria-label="sluice console home">
          sluice
        </a>
        <nav aria-label="Main">
          <ul>
            {nav.map(([href, label]) => (
              <li>
                <a href={href} aria-current={isCurrent(href, path) ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes path={path} query={query} />
      </main>
      {status && (
        <footer class="footer">
          sluice {status.version} · node {status.node_id} · {status.storage?.driver} storage · config version {status.config_version}
        </footer>
      )}
    </div>
  );
}

function Routes({ path, query }: { path: string; query: URLSearchParams }) {
  if (path === '/') return <Dashboard />;
  if (path === '/logs') return <Logs query={query} />;
  if (path.startsWith('/logs/')) return <LogEntry id={decodeURIComponent(path.slice(6))} />;
  if (path === '/account') return <Account />;
  if (path === '/config') return <Config />;
  if (path === '/playground') return <Playground />;
  for (const k of kinds) {
    const base = '/' + k.path;
    if (path === base) return <EntityList kind={k} />;
    if (path === base + '/new') return <EntityEdit kind={k} key={'new-' + k.path} />;
    if (path.startsWith(base + '/')) {
      const name = decodeURIComponent(path.slice(base.length + 1));
      return <EntityEdit kind={k} name={name} key={k.path + '/' + name} />;
    }
  }
  return (
    <section class="page">
      <h1 id="page-title">Not found</h1>
      <p>
        There is no console page at <code>{path}</code>. <a href="/">Back to the dashboard</a>.
      </p>
    </section>
  );
}

render(<Shell />, document.getElementById('app')!);
