// A consumer's credentials: the secret is shown once, on creation.
import { useState } from 'preact/hooks';
import { ApiError, call, get } from '../api';
import { ErrorBox, Loading, fmtTime, useAsync } from '../ui';

const types = ['key-auth', 'basic-auth', 'jwt'];

export function Credentials({ consumer, readOnly }: { consumer: string; readOnly: boolean }) {
  const base = `/consumers/${encodeURIComponent(consumer)}/credentials`;
  const list = useAsync(() => get(base), [consumer]);
  const [type, setType] = useState('key-auth');
  const [form, setForm] = useState<Record<string, string>>({});
  const [created, setCreated] = useState<any>(null);
  const [err, setErr] = useState<unknown>(null);

  async function create(e: Event) {
    e.preventDefault();
    setErr(null);
    const body: Record<string, string> = { type };
    for (const [k, v] of Object.entries(form)) if (v) body[k] = v;
    try {
      const r = await call('POST', base, body);
      setCreated(r.data);
      setForm({});
      list.reload();
    } catch (x) {
      setErr(x);
    }
  }
  async function revoke(id: string) {
    if (!confirm('Revoke this credential? Clients using it are refused within a second.')) return;
    try {
      await call('DELETE', `${base}/${encodeURIComponent(id)}`);
      list.reload();
    } catch (x) {
      setErr(x);
    }
  }
  const secret = created && (created.key || created.password || created.secret);
  const input = (k: string, label: string, help?: string) => (
    <div class="field">
      <label for={`cred-${k}`}>{label}</label>
      <input id={`cred-${k}`} value={form[k] || ''} onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })}
        aria-describedby={help ? `cred-${k}-help` : undefined} />
      {help && <p class="help" id={`cred-${k}-help`}>{help}</p>}
    </div>
  );

  return (
    <div class="card">
      <h2>Credentials</h2>
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? <Loading /> : (
        list.data.data.length === 0 ? <p class="muted">No credentials yet.</p> : (
          <ul class="creds">
            {list.data.data.map((c: any) => (
              <li>
                <strong>{c.type}</strong> <code>{c.key || c.username || c.issuer || ''}</code>
                <span class="muted small"> {c.source === 'file' ? 'config file' : `created ${fmtTime(c.created_at)}`}</span>
                {c.source !== 'file' && (
                  <button type="button" class="link danger" onClick={() => revoke(c.id)} aria-label={`Revoke ${c.type} credential ${c.id}`}>Revoke</button>
                )}
              </li>
            ))}
          </ul>
        )
      )}
      {created && secret && (
        <div class="secret-once" role="alert">
          <p><strong>Copy this secret now: it is shown only once.</strong></p>
          <pre data-testid="secret">{secret}</pre>
          <button type="button" onClick={() => navigator.clipboard?.writeText(secret)}>Copy</button>{' '}
          <button type="button" onClick={() => setCreated(null)}>I have copied it</button>
        </div>
      )}
      {!readOnly && (
        <form onSubmit={create} aria-label="New credential">
          <h3>New credential</h3>
          <div class="field">
            <label for="cred-type">Type</label>
            <select id="cred-type" value={type} onChange={(e) => { setType(e.currentTarget.value); setForm({}); }}>
              {types.map((t) => <option value={t}>{t}</option>)}
            </select>
          </div>
          {type === 'key-auth' && input('key', 'Key', 'Leave empty to generate one.')}
          {type === 'basic-auth' && <>{input('username', 'Username')}{input('password', 'Password', 'Leave empty to generate one.')}</>}
          {type === 'jwt' && <>
            {input('issuer', 'Issuer (iss)')}
            {input('algorithm', 'Algorithm', 'HS256, RS256, ES256…')}
            {input('secret', 'HMAC secret', 'For HS algorithms; leave empty to generate one.')}
            {input('public_key', 'Public key (PEM)', 'For RS and ES algorithms.')}
          </>}
          {err instanceof ApiError || err ? <ErrorBox error={err} /> : null}
          <button type="submit" class="primary">Create credential</button>
        </form>
      )}
    </div>
  );
}
