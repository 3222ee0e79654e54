// Live health of an upstream's targets (GET /upstreams/{name}/health).
import { get } from '../api';
import { Badge, ErrorBox, Loading, fmtMs, fmtTime, useAsync } from '../ui';

export function TargetHealth({ upstream }: { upstream: string }) {
  const h = useAsync(() => get(`/upstreams/${encodeURIComponent(upstream)}/health`), [upstream], 3000);
  return (
    <div class="card" aria-live="polite">
      <h2>Target health</h2>
      <p class="muted small">Live from this node, every 3 seconds.</p>
      <ErrorBox error={h.error} />
      {h.loading && !h.data ? <Loading /> : h.data && (
        <ul class="targets">
          {h.data.targets.map((t: any) => (
            <li>
              <div>
                <code>{t.url}</code>{' '}
                <Badge kind={t.state === 'healthy' ? 'ok' : t.state === 'unhealthy' || t.state === 'ejected' ? 'bad' : 'warn'}>{t.state}</Badge>
              </div>
              <div class="small muted">
                weight {t.weight}, {t.active} in flight
                {t.latency_ns ? `, latency ${fmtMs(t.latency_ns / 1e6)}` : ''}
                {t.consecutive_failures ? `, ${t.consecutive_failures} failures in a row` : ''}
                {t.last_check ? `, last check ${fmtTime(t.last_check)}` : ''}
              </div>
              {t.last_error && <pre class="cause">{t.last_error}</pre>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
