// The whole config as YAML (GET /config, secrets masked), and import of a
// YAML document (POST /config, checked whole, applied all or nothing).
import { useState } from 'preact/hooks';
import { ApiError, text } from '../api';
import { ErrorBox, Loading, Page, useAsync } from '../ui';

export function Config() {
  const cur = useAsync(() => text('GET', '/config'), []);
  const [doc, setDoc] = useState('');
  const [result, setResult] = useState<any>(null);
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function send(dryRun: boolean) {
    setErr(null);
    setResult(null);
    setBusy(true);
    try {
      const r = JSON.parse(await text('POST', `/config${dryRun ? '?dry_run=true' : ''}`, doc));
      setResult(r);
      if (!dryRun) cur.reload();
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  }
  const download = () => {
    const url = URL.createObjectURL(new Blob([cur.data || ''], { type: 'application/yaml' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'sluice-config.yaml';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  const problems = err instanceof ApiError ? err.problems : [];
  const summary = (m: Record<string, string[]> | undefined) =>
    Object.entries(m || {}).filter(([, v]) => v?.length).map(([k, v]) => `${k}: ${v.join(', ')}`).join('; ') || 'none';

  return (
    <Page title="Config">
      <div class="grid-2">
        <div class="card">
          <h2>Current config</h2>
          <p class="muted small">The config file’s entities and the stored ones, merged; secrets masked.</p>
          <ErrorBox error={cur.error} />
          {cur.loading && !cur.data ? <Loading /> : (
            <>
              <label for="cfg-current" class="sr-only">Current config (YAML)</label>
              <textarea id="cfg-current" readOnly rows={24} value={cur.data} spellcheck={false} />
              <div class="form-buttons"><button type="button" onClick={download}>Download</button></div>
            </>
          )}
        </div>
        <form class="card" onSubmit={(e) => { e.preventDefault(); send(false); }} aria-label="Import a config">
          <h2>Import</h2>
          <p class="muted small">
            Paste a YAML document with routes, upstreams, consumers, plugins or AI entities. It is checked whole and
            applied in one transaction, or not at all. Entities of the config file may appear only unchanged.
          </p>
          <label for="cfg-doc">YAML document</label>
          <textarea id="cfg-doc" rows={16} value={doc} spellcheck={false} onInput={(e) => setDoc(e.currentTarget.value)}
            aria-invalid={problems.length ? 'true' : undefined} aria-describedby={problems.length ? 'cfg-problems' : undefined} />
          {problems.length > 0 ? (
            <div class="error-box" role="alert" id="cfg-problems">
              <strong>{(err as ApiError).detail}</strong>
              <ul>{problems.map((p) => <li>{p.line ? `line ${p.line}: ` : ''}<code>{p.path}</code> {p.message}</li>)}</ul>
            </div>
          ) : <ErrorBox error={err} />}
          <div class="form-buttons">
            <button type="button" disabled={busy || !doc.trim()} onClick={() => send(true)}>Check</button>
            <button type="submit" class="primary" disabled={busy || !doc.trim()}>Apply</button>
          </div>
          {result && (
            <div class="notice" role="status">
              <strong>{result.dry_run ? 'The document is valid; nothing was applied.' : `Applied (config version ${result.config_version}).`}</strong>
              <ul>
                <li>Created: {summary(result.created)}</li>
                <li>Updated: {summary(result.updated)}</li>
                <li>Unchanged: {summary(result.unchanged)}</li>
              </ul>
            </div>
          )}
        </form>
      </div>
    </Page>
  );
}
