// The dashboard: this node's traffic (GET /stats), upstream health and AI
// usage over a chosen range, refreshed on a timer.
import { useMemo, useState } from 'preact/hooks';
import { get, qs } from '../api';
import { Chart, color, type Series } from '../chart';
import { Badge, ErrorBox, Loading, Page, fmtMs, fmtNum, useAsync } from '../ui';

const ranges: Record<string, { label: string; step: string; ms: number }> = {
  '5m': { label: 'Last 5 minutes', step: '5s', ms: 5 * 60e3 },
  '15m': { label: 'Last 15 minutes', step: '10s', ms: 15 * 60e3 },
  '1h': { label: 'Last hour', step: '30s', ms: 60 * 60e3 },
};

export function Dashboard() {
  const [range, setRange] = useState(localStorage.getItem('dash.range') || '15m');
  const [refresh, setRefresh] = useState(Number(localStorage.getItem('dash.refresh') ?? 10));
  const r = ranges[range] || ranges['15m'];
  const stats = useAsync(() => get(`/stats${qs({ since: range, step: r.step })}`), [range], refresh * 1000);

  return (
    <Page
      title="Dashboard"
      actions={
        <>
          <label for="dash-range">Range</label>
          <select id="dash-range" value={range} onChange={(e) => {
            setRange(e.currentTarget.value);
            localStorage.setItem('dash.range', e.currentTarget.value);
          }}>
            {Object.entries(ranges).map(([k, v]) => <option value={k}>{v.label}</option>)}
          </select>
          <label for="dash-refresh">Auto-refresh</label>
          <select id="dash-refresh" value={String(refresh)} onChange={(e) => {
            setRefresh(Number(e.currentTarget.value));
            localStorage.setItem('dash.refresh', e.currentTarget.value);
          }}>
            <option value="0">Off</option>
            <option value="5">Every 5 s</option>
            <option value="10">Every 10 s</option>
            <option value="30">Every 30 s</option>
          </select>
          <button type="button" onClick={stats.reload}>Refresh</button>
        </>
      }
    >
      <ErrorBox error={stats.error} />
      {stats.loading && !stats.data ? <Loading /> : stats.data && <Traffic rep={stats.data} range={range} />}
      <div class="grid-2">
        <UpstreamHealth refresh={refresh} />
        <AIUsage range={range} ms={r.ms} refresh={refresh} />
      </div>
    </Page>
  );
}

function Traffic({ rep, range }: { rep: any; range: string }) {
  const t = rep.totals;
  const errors5xx = t.status['5xx'] || 0;
  const errRate = t.requests ? (100 * ((t.status['5xx'] || 0) + (t.status['4xx'] || 0))) / t.requests : 0;
  const { times, rps, codeSeries, latency } = useMemo(() => {
    const times = rep.buckets.map((b: any) => Date.parse(b.time) / 1000);
    const rps: Series[] = [
      { label: 'requests/s', values: rep.buckets.map((b: any) => b.rps), color: color(0), fill: true },
      { label: '5xx/s', values: rep.buckets.map((b: any) => (b.status['5xx'] || 0) / rep.step_seconds), color: color(1) },
    ];
    const codes = Object.keys(t.codes || {}).sort();
    const codeSeries: Series[] = codes.map((c, i) => ({
      label: c,
      values: rep.buckets.map((b: any) => (b.codes?.[c] || 0) / rep.step_seconds),
      color: color(i + 1),
    }));
    const latency: Series[] = [
      { label: 'p50', values: rep.buckets.map((b: any) => (b.requests ? b.p50_ms : null)), color: color(3), points: true },
      { label: 'p99', values: rep.buckets.map((b: any) => (b.requests ? b.p99_ms : null)), color: color(2), points: true },
    ];
    return { times, rps, codeSeries, latency };
  }, [rep]);
  const codes = Object.entries(t.codes || {}).sort((a: any, b: any) => b[1] - a[1]) as [string, number][];

  return (
    <>
      <ul class="stat-cards" aria-label="Totals for the range">
        <li class="card"><span class="stat-label">Requests</span><span class="stat-value" data-testid="total-requests">{fmtNum(t.requests)}</span></li>
        <li class="card"><span class="stat-label">Requests/s</span><span class="stat-value">{fmtNum(t.rps, 2)}</span></li>
        <li class="card"><span class="stat-label">Error rate (4xx+5xx)</span><span class="stat-value">{fmtNum(errRate, 1)} %</span></li>
        <li class="card">
          <span class="stat-label">5xx</span>
          <span class="stat-value">
            {errors5xx > 0 ? <a href={`/logs${qs({ since: range, min_status: 500 })}`}>{fmtNum(errors5xx)}</a> : '0'}
          </span>
        </li>
        <li class="card"><span class="stat-label">p50 latency</span><span class="stat-value">{fmtMs(t.p50_ms)}</span></li>
        <li class="card"><span class="stat-label">p99 latency</span><span class="stat-value">{fmtMs(t.p99_ms)}</span></li>
      </ul>
      <div class="grid-2">
        <Chart title="Requests per second" times={times} series={rps} unit="/s" />
        <Chart title="Latency" times={times} series={latency} unit="ms" />
        {codeSeries.length > 0 ? (
          <Chart title="Gateway errors per second, by code" times={times} series={codeSeries} unit="/s" />
        ) : (
          <div class="card empty-chart"><h2>Gateway errors by code</h2><p class="muted">No gateway errors in this range.</p></div>
        )}
        <div class="card">
          <h2>Errors by code</h2>
          {codes.length === 0 ? (
            <p class="muted">None in this range.</p>
          ) : (
            <table class="compact">
              <thead><tr><th scope="col">Code</th><th scope="col" class="num">Requests</th><th scope="col">Log</th></tr></thead>
              <tbody>
                {codes.map(([c, n]) => (
                  <tr>
                    <td><code>{c}</code></td>
                    <td class="num">{fmtNum(n)}</td>
                    <td><a href={`/logs${qs({ code: c, since: range })}`} aria-label={`Log entries with code ${c}`}>See requests</a></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <div class="card">
        <h2>Top routes</h2>
        {rep.top_routes.length === 0 ? (
          <p class="muted">No requests in this range.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead><tr><th scope="col">Route</th><th scope="col" class="num">Requests</th><th scope="col" class="num">5xx</th><th scope="col">Log</th></tr></thead>
              <tbody>
                {rep.top_routes.map((r: any) => {
                  const named = !r.route.startsWith('(');
                  return (
                    <tr>
                      <td>{named ? <a href={`/routes/${encodeURIComponent(r.route)}`}>{r.route}</a> : r.route}</td>
                      <td class="num">{fmtNum(r.requests)}</td>
                      <td class="num">
                        {r.errors > 0 && named ? (
                          <a href={`/logs${qs({ route: r.route, since: range, min_status: 500 })}`}>{fmtNum(r.errors)}</a>
                        ) : fmtNum(r.errors)}
                      </td>
                      <td>{named && <a href={`/logs${qs({ route: r.route, since: range })}`}>See requests</a>}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <p class="muted small">Traffic seen by this node (each node keeps its own last hour in memory).</p>
      </div>
    </>
  );
}

function UpstreamHealth({ refresh }: { refresh: number }) {
  const h = useAsync(async () => {
    const list = await get('/upstreams?size=1000');
    return Promise.all(
      list.data.map((u: any) => get(`/upstreams/${encodeURIComponent(u.name)}/health`).catch(() => ({ upstream: u.name, targets: [] }))),
    );
  }, [], refresh * 1000);
  return (
    <div class="card">
      <h2>Upstream health</h2>
      <ErrorBox error={h.error} />
      {h.loading && !h.data ? <Loading /> : h.data?.length === 0 ? <p class="muted">No upstreams yet. <a href="/upstreams/new">Create one</a>.</p> : (
        <ul class="health-list">
          {h.data?.map((u: any) => {
            const healthy = u.targets.filter((t: any) => t.state === 'healthy').length;
            return (
              <li>
                <a href={`/upstreams/${encodeURIComponent(u.upstream)}`}>{u.upstream}</a>{' '}
                <Badge kind={u.targets.length === 0 ? 'info' : healthy === u.targets.length ? 'ok' : healthy === 0 ? 'bad' : 'warn'}>
                  {healthy}/{u.targets.length} healthy
                </Badge>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

/** AIUsage charts AI tokens and cost: /usage summed over twelve slices of the range. */
function AIUsage({ range, ms, refresh }: { range: string; ms: number; refresh: number }) {
  const slices = 12;
  const u = useAsync(async () => {
    const end = Date.now();
    const step = ms / slices;
    const rows = await Promise.all(
      Array.from({ length: slices }, (_, i) => {
        const since = new Date(end - ms + i * step).toISOString().replace(/\.\d+Z$/, 'Z');
        const until = new Date(end - ms + (i + 1) * step).toISOString().replace(/\.\d+Z$/, 'Z');
        return get(`/usage${qs({ since, until })}`).then((r) => ({ t: (end - ms + i * step) / 1000, row: r.data[0] || {} }));
      }),
    );
    const total = await get(`/usage${qs({ since: range, group_by: 'model' })}`);
    return { rows, models: total.data };
  }, [range], refresh * 1000);
  const d = u.data;
  const times = d?.rows.map((r) => r.t) || [];
  const tokens: Series[] = d ? [
    { label: 'input tokens', values: d.rows.map((r) => r.row.input_tokens || 0), color: color(0), fill: true },
    { label: 'output tokens', values: d.rows.map((r) => r.row.output_tokens || 0), color: color(4) },
  ] : [];
  const cost: Series[] = d ? [{ label: 'cost', values: d.rows.map((r) => r.row.cost_usd || 0), color: color(3), fill: true }] : [];
  return (
    <div class="card">
      <h2>AI tokens and cost</h2>
      <ErrorBox error={u.error} />
      {u.loading && !d ? <Loading /> : d && (
        d.models.length === 0 ? <p class="muted">No AI requests in this range.</p> : (
          <>
            <Chart title="Tokens" times={times} series={tokens} height={140} />
            <Chart title="Cost (USD)" times={times} series={cost} unit="USD" height={120} />
            <table class="compact">
              <thead><tr><th scope="col">Model</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Tokens in / out</th><th scope="col" class="num">Cost</th></tr></thead>
              <tbody>
                {d.models.map((m: any) => (
                  <tr><td>{m.model}</td><td class="num">{fmtNum(m.requests)}</td><td class="num">{fmtNum(m.input_tokens)} / {fmtNum(m.output_tokens)}</td><td class="num">${fmtNum(m.cost_usd, 4)}</td></tr>
                ))}
              </tbody>
            </table>
          </>
        )
      )}
    </div>
  );
}
