// The request log explorer and one request's cause chain (GET /logs).
import { useState } from 'preact/hooks';
import { get, qs } from '../api';
import { fixFor } from '../fixes';
import { navigate } from '../router';
import { Badge, ErrorBox, Loading, Page, fmtMs, fmtTime, statusKind, useAsync } from '../ui';

const filterKeys = ['code', 'status', 'min_status', 'route', 'consumer', 'since', 'until', 'limit'] as const;

export function Logs({ query }: { query: URLSearchParams }) {
  const f: Record<string, string> = {};
  for (const k of filterKeys) f[k] = query.get(k) || '';
  if (!f.since && !f.until) f.since = '1h';
  const minStatus = Number(f.min_status || 0);
  const api = { ...f, min_status: '', limit: f.limit || (minStatus ? '1000' : '100') };
  const key = qs(f);
  const logs = useAsync(() => get(`/logs${qs(api)}`), [key]);
  const [form, setForm] = useState(f);
  const entries: any[] = (logs.data?.data || []).filter((e: any) => e.status >= minStatus);

  function submit(e: Event) {
    e.preventDefault();
    navigate('/logs' + qs(form));
  }
  const input = (k: string, label: string, attrs: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={`f-${k}`}>{label}</label>
      <input id={`f-${k}`} name={k} value={form[k] || ''} onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })} {...attrs} />
    </div>
  );

  return (
    <Page title="Request log">
      <form class="card filters" onSubmit={submit} aria-label="Filter the request log">
        {input('code', 'Error code', { placeholder: 'upstream_timeout' })}
        {input('status', 'Status', { inputMode: 'numeric', placeholder: '502' })}
        <div class="field">
          <label for="f-min_status">Status class</label>
          <select id="f-min_status" value={form.min_status || ''} onChange={(e) => setForm({ ...form, min_status: e.currentTarget.value })}>
            <option value="">Any</option>
            <option value="400">4xx and 5xx</option>
            <option value="500">5xx only</option>
          </select>
        </div>
        {input('route', 'Route')}
        {input('consumer', 'Consumer')}
        {input('since', 'Since', { placeholder: '15m or 2025-01-02T15:04:05Z' })}
        {input('until', 'Until', { placeholder: 'empty: now' })}
        <div class="field field-buttons">
          <button type="submit" class="primary">Filter</button>
          <button type="button" onClick={() => { setForm({ since: '1h' }); navigate('/logs'); }}>Clear</button>
        </div>
      </form>
      <ErrorBox error={logs.error} />
      {logs.loading && !logs.data ? <Loading /> : (
        <div class="card">
          <p class="muted small" role="status">
            {entries.length} {entries.length === 1 ? 'request' : 'requests'}, newest first. Failures are always logged; successes may be sampled.
          </p>
          <div class="table-wrap">
            <table class="logs">
              <thead>
                <tr>
                  <th scope="col">Time</th><th scope="col">Status</th><th scope="col">Code</th><th scope="col">Request</th>
                  <th scope="col">Route</th><th scope="col">Consumer</th><th scope="col" class="num">Duration</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr>
                    <td><a href={`/logs/${encodeURIComponent(e.request_id)}`} aria-label={`Request ${e.request_id}`}>{fmtTime(e.time)}</a></td>
                    <td><Badge kind={statusKind(e.status)}>{e.status}</Badge></td>
                    <td>{e.code ? <code>{e.code}</code> : ''}</td>
                    <td class="path"><span class="method">{e.method}</span> {e.host}{e.path}</td>
                    <td>{e.route}</td>
                    <td>{e.consumer}</td>
                    <td class="num">{fmtMs(e.duration_ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {entries.length === 0 && <p class="muted">No requests match.</p>}
        </div>
      )}
    </Page>
  );
}

export function LogEntry({ id }: { id: string }) {
  const r = useAsync(() => get(`/logs${qs({ request_id: id })}`), [id]);
  const e = r.data?.data?.[0];
  const fix = e ? fixFor(e.code || '', e.status) : null;
  return (
    <Page title="Request" actions={<a href="/logs">Back to the log</a>}>
      <ErrorBox error={r.error} />
      {r.loading ? <Loading /> : !e ? (
        <p>No request with id <code>{id}</code> is in the log (it may have been sampled out or expired).</p>
      ) : (
        <>
          <div class="card">
            <dl class="facts">
              <dt>Request id</dt><dd><code>{e.request_id}</code></dd>
              <dt>Time</dt><dd>{fmtTime(e.time)}</dd>
              <dt>Request</dt><dd><span class="method">{e.method}</span> {e.host}{e.path}</dd>
              <dt>Answer</dt><dd><Badge kind={statusKind(e.status)}>{e.status}</Badge> {e.code && <code>{e.code}</code>}</dd>
              <dt>Route</dt><dd>{e.route ? <a href={`/routes/${encodeURIComponent(e.route)}`}>{e.route}</a> : '–'}</dd>
              <dt>Upstream</dt><dd>{e.upstream ? <a href={`/upstreams/${encodeURIComponent(e.upstream)}`}>{e.upstream}</a> : '–'}</dd>
              <dt>Consumer</dt><dd>{e.consumer || '–'}</dd>
              <dt>Duration</dt><dd>{fmtMs(e.duration_ms)} total, {fmtMs(e.upstream_ms)} upstream</dd>
              <dt>Bytes</dt><dd>{e.bytes_in} in, {e.bytes_out} out</dd>
              <dt>Node</dt><dd>{e.node_id}</dd>
            </dl>
          </div>
          {fix && (
            <div class={`card fix ${e.status >= 500 ? 'fix-bad' : ''}`} aria-labelledby="fix-title">
              <h2 id="fix-title">What happened and what to try</h2>
              <p>{fix.what}</p>
              <p><strong>Try:</strong> {fix.try}</p>
            </div>
          )}
          <div class="card">
            <h2>Cause chain</h2>
            {e.attempts.length === 0 ? (
              <p class="muted">No upstream was tried{e.code ? ': the gateway answered by itself.' : '.'}</p>
            ) : (
              <ol class="chain" aria-label="Attempts, in order">
                {e.attempts.map((a: any, i: number) => (
                  <li class={a.code ? 'failed' : 'ok'}>
                    <div class="chain-head">
                      <strong>Attempt {i + 1}</strong> → <code>{a.target}</code>{' '}
                      {a.code ? <Badge kind="bad">{a.code}</Badge> : <Badge kind={statusKind(a.status)}>{a.status}</Badge>}
                      <span class="muted"> {fmtMs(a.duration_ms ?? (a.duration ? a.duration / 1e6 : 0))}{a.reused ? ', reused connection' : ''}</span>
                    </div>
                    {a.error && <pre class="cause">{a.error}</pre>}
                    {a.code && fixFor(a.code, 0) && <p class="small">{fixFor(a.code, 0)!.what}</p>}
                  </li>
                ))}
                <li class={e.status >= 500 ? 'failed' : 'ok'}>
                  <div class="chain-head">
                    <strong>Answer to the client:</strong> <Badge kind={statusKind(e.status)}>{e.status}</Badge> {e.code && <code>{e.code}</code>}
                  </div>
                  {e.error && <pre class="cause">{e.error}</pre>}
                </li>
              </ol>
            )}
          </div>
        </>
      )}
    </Page>
  );
}
