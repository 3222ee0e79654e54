// Lists and forms of config entities: /routes, /upstreams, /consumers,
// /plugins, /ai/providers, /ai/models. File-declared entities are shown
// read-only; validation problems are shown on their field.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, get, type Problem } from '../api';
import { navigate } from '../router';
import { Badge, ErrorBox, Loading, Page, useAsync } from '../ui';
import type { FieldSpec, Kind } from './kinds';
import { Credentials } from './credentials';
import { TargetHealth } from './health';

const meta = ['source', 'version', 'created_at', 'updated_at'];

const enc = (name: string) => name.split('/').map(encodeURIComponent).join('/');

export function EntityList({ kind }: { kind: Kind }) {
  const r = useAsync(() => get(`/${kind.path}?size=1000`), [kind.path]);
  const withHealth = kind.path === 'upstreams';
  const health = useAsync(async () => {
    if (!withHealth || !r.data) return {} as Record<string, any>;
    const all = await Promise.all(r.data.data.map((u: any) =>
      get(`/upstreams/${encodeURIComponent(u.name)}/health`).catch(() => null)));
    return Object.fromEntries(all.filter(Boolean).map((h: any) => [h.upstream, h]));
  }, [withHealth, r.data], withHealth ? 5000 : 0);
  return (
    <Page title={kind.title} actions={<a class="button primary" href={`/${kind.path}/new`}>New {kind.singular}</a>}>
      <ErrorBox error={r.error} />
      {r.loading ? <Loading /> : (
        <div class="card">
          {r.data.data.length === 0 ? <p class="muted">No {kind.title.toLowerCase()} yet.</p> : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    {kind.columns.map(([l]) => <th scope="col">{l}</th>)}
                    {withHealth && <th scope="col">Health</th>}
                    <th scope="col">Source</th>
                  </tr>
                </thead>
                <tbody>
                  {r.data.data.map((e: any) => (
                    <tr>
                      <td><a href={`/${kind.path}/${enc(e.name)}`}>{e.name}</a></td>
                      {kind.columns.map(([, f]) => <td class="wrap">{f(e)}</td>)}
                      {withHealth && <td><HealthBadge h={health.data?.[e.name]} /></td>}
                      <td>{e.source === 'file' ? <Badge kind="info">config file</Badge> : <Badge kind="ok">API</Badge>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="muted small">{r.data.total} in all.</p>
        </div>
      )}
    </Page>
  );
}

function HealthBadge({ h }: { h?: any }) {
  if (!h) return <span class="muted">–</span>;
  const n = h.targets.length;
  const ok = h.targets.filter((t: any) => t.state === 'healthy').length;
  return <Badge kind={n === 0 ? 'info' : ok === n ? 'ok' : ok === 0 ? 'bad' : 'warn'}>{ok}/{n} healthy</Badge>;
}

function getPath(o: any, key: string): any {
  return key.split('.').reduce((v, k) => (v == null ? undefined : v[k]), o);
}

function setPath(o: any, key: string, v: unknown) {
  const ks = key.split('.');
  let cur = o;
  for (const k of ks.slice(0, -1)) {
    if (cur[k] == null || typeof cur[k] !== 'object') cur[k] = {};
    cur = cur[k];
  }
  cur[ks[ks.length - 1]] = v;
}

function delPath(o: any, key: string) {
  const ks = key.split('.');
  const parent = ks.slice(0, -1).reduce((v, k) => (v == null ? undefined : v[k]), o);
  if (parent && typeof parent === 'object') delete parent[ks[ks.length - 1]];
}

/** prune drops nulls, empty lists and empty objects. */
function prune(v: any): any {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') {
    const out: any = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x);
      if (p === null || p === undefined) continue;
      if (typeof p === 'object' && !Array.isArray(p) && Object.keys(p).length === 0) continue;
      out[k] = p;
    }
    return out;
  }
  return v;
}

function toText(f: FieldSpec, v: any): any {
  if (v == null) return f.type === 'bool' ? false : '';
  switch (f.type) {
    case 'bool': return !!v;
    case 'list': return Array.isArray(v) ? v.join(', ') : String(v);
    case 'secretlist': return Array.isArray(v) ? v.join('\n') : String(v);
    case 'json': {
      const p = prune(v);
      return p && typeof p === 'object' && Object.keys(p).length === 0 ? '' : JSON.stringify(p, null, 2);
    }
    case 'targets': return (v as any[]).map((t) => `${t.url}${t.weight != null ? ' ' + t.weight : ''}`).join('\n');
    case 'modeltargets': return (v as any[]).map((t) => `${t.provider} ${t.model}${t.weight != null ? ' ' + t.weight : ''}`).join('\n');
    default: return String(v);
  }
}

/** fromText parses a field's text; it throws a message for the field. */
function fromText(f: FieldSpec, s: any): unknown {
  if (f.type === 'bool') return s ? true : undefined;
  const t = String(s ?? '').trim();
  if (t === '') return undefined;
  const lines = t.split('\n').map((l) => l.trim()).filter(Boolean);
  switch (f.type) {
    case 'number': {
      const n = Number(t);
      if (!Number.isFinite(n)) throw new Error('must be a number');
      return n;
    }
    case 'list': return t.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);
    case 'secretlist': return lines;
    case 'json':
      try {
        return JSON.parse(t);
      } catch (e) {
        throw new Error('is not valid JSON: ' + (e as Error).message);
      }
    case 'targets':
      return lines.map((l) => {
        const [url, w] = l.split(/\s+/);
        return w ? { url, weight: Number(w) } : { url };
      });
    case 'modeltargets':
      return lines.map((l) => {
        const [provider, model, w] = l.split(/\s+/);
        if (!model) throw new Error(`"${l}" needs a provider and a model`);
        return w ? { provider, model, weight: Number(w) } : { provider, model };
      });
    default: return t;
  }
}

/** problemKey strips indexes from a problem's path: match.paths[1] → match.paths. */
const problemKey = (p: Problem) => (p.path || '').replace(/\[[^\]]*\]/g, '');

export function EntityEdit({ kind, name }: { kind: Kind; name?: string }) {
  const isNew = name === undefined;
  const [entity, setEntity] = useState<any>(isNew ? kind.template : undefined);
  const [etag, setEtag] = useState<string | null>(null);
  const [loadErr, setLoadErr] = useState<unknown>(null);
  const [values, setValues] = useState<Record<string, any>>({});
  const [other, setOther] = useState('');
  const [fieldErr, setFieldErr] = useState<Record<string, string[]>>({});
  const [formErr, setFormErr] = useState<unknown>(null);
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);

  function fill(e: any) {
    const v: Record<string, any> = {};
    const rest = JSON.parse(JSON.stringify(e));
    for (const f of kind.fields) {
      v[f.key] = toText(f, getPath(e, f.key));
      delPath(rest, f.key);
    }
    for (const m of meta) delete rest[m];
    const pr = prune(rest);
    setValues(v);
    setOther(Object.keys(pr).length ? JSON.stringify(pr, null, 2) : '');
  }

  useEffect(() => {
    if (isNew) {
      fill(kind.template);
      return;
    }
    call('GET', `/${kind.path}/${enc(name!)}`).then(
      (r) => {
        setEntity(r.data);
        setEtag(r.etag);
        fill(r.data);
      },
      setLoadErr,
    );
  }, [kind.path, name]);

  const readOnly = entity?.source === 'file';

  async function save(e: Event) {
    e.preventDefault();
    setSaved('');
    setFormErr(null);
    const errs: Record<string, string[]> = {};
    let body: any = {};
    if (other.trim()) {
      try {
        body = JSON.parse(other);
      } catch (x) {
        errs.__other = ['is not valid JSON: ' + (x as Error).message];
      }
    }
    for (const f of kind.fields) {
      try {
        const v = fromText(f, values[f.key]);
        if (v !== undefined) setPath(body, f.key, v);
      } catch (x) {
        errs[f.key] = [(x as Error).message];
      }
    }
    setFieldErr(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    try {
      const r = isNew
        ? await call('POST', `/${kind.path}`, body)
        : await call('PUT', `/${kind.path}/${enc(name!)}`, body, etag ? { 'If-Match': etag } : {});
      setEntity(r.data);
      setEtag(r.data?.version != null ? `"${r.data.version}"` : r.etag);
      fill(r.data);
      if (isNew) {
        navigate(`/${kind.path}/${enc(r.data.name)}`, true);
      } else {
        setSaved(`Saved (version ${r.data.version}).`);
      }
    } catch (x) {
      if (x instanceof ApiError && x.problems.length) {
        const byField: Record<string, string[]> = {};
        const rest: Problem[] = [];
        for (const p of x.problems) {
          const k = problemKey(p);
          const f = kind.fields.find((f) => f.key === k) ||
            kind.fields.find((f) => k.startsWith(f.key + '.')) ||
            kind.fields.find((f) => p.field && f.key.split('.')[0] === p.field);
          if (f) (byField[f.key] ||= []).push(p.message);
          else if (p.field) (byField.__other ||= []).push(`${p.path}: ${p.message}`);
          else rest.push(p);
        }
        setFieldErr(byField);
        x.problems = rest;
        setFormErr(rest.length || !Object.keys(byField).length ? x : new ApiError(x.status, { detail: x.detail, code: x.code }));
      } else {
        if (x instanceof ApiError && x.status === 412) x.detail = 'Someone else changed this ' + kind.singular + ' since you opened it. Reload to see their change.';
        setFormErr(x);
      }
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    if (!confirm(`Delete the ${kind.singular} “${name}”?`)) return;
    try {
      await call('DELETE', `/${kind.path}/${enc(name!)}`);
      navigate(`/${kind.path}`);
    } catch (x) {
      setFormErr(x);
    }
  }

  const title = isNew ? `New ${kind.singular}` : `${kind.singular[0].toUpperCase()}${kind.singular.slice(1)} ${name}`;
  if (loadErr) return <Page title={title}><ErrorBox error={loadErr} /><a href={`/${kind.path}`}>Back to {kind.title.toLowerCase()}</a></Page>;
  if (!entity) return <Page title={title}><Loading /></Page>;

  return (
    <Page title={title} actions={<>
      {!isNew && ['routes', 'consumers'].includes(kind.path) && (
        <a href={`/logs?${kind.path === 'routes' ? 'route' : 'consumer'}=${encodeURIComponent(name!)}`}>Request log</a>
      )}
      <a href={`/${kind.path}`}>All {kind.title.toLowerCase()}</a>
    </>}>
      {readOnly && (
        <p class="notice" role="note">
          This {kind.singular} is declared in the config file, so it is read-only here: change it in the file.
        </p>
      )}
      <div class={!isNew && (kind.path === 'upstreams' || kind.path === 'consumers') ? 'grid-2 wide-first' : ''}>
        <form class={`card entity-form ${!isNew && (kind.path === 'upstreams' || kind.path === 'consumers') ? '' : 'alone'}`} onSubmit={save} aria-label={title} noValidate>
          <ErrorBox error={formErr} />
          <fieldset disabled={readOnly || busy}>
            {kind.fields.map((f) => (
              <FieldInput f={f} value={values[f.key]} errors={fieldErr[f.key]} disabled={f.key === 'name' && !isNew}
                onChange={(v) => setValues({ ...values, [f.key]: v })} />
            ))}
            <div class={`field ${fieldErr.__other ? 'has-error' : ''}`}>
              <label for="f-other">Other settings (JSON)</label>
              <textarea id="f-other" rows={Math.min(12, Math.max(3, other.split('\n').length))} value={other}
                aria-invalid={fieldErr.__other ? 'true' : undefined} aria-describedby={fieldErr.__other ? 'f-other-err' : undefined}
                onInput={(e) => setOther(e.currentTarget.value)} spellcheck={false} />
              {fieldErr.__other && <p class="field-error" id="f-other-err">{fieldErr.__other.join('; ')}</p>}
            </div>
          </fieldset>
          {!readOnly && (
            <div class="form-buttons">
              <button type="submit" class="primary" disabled={busy}>{isNew ? 'Create' : 'Save'}</button>
              {!isNew && <button type="button" class="danger" onClick={remove}>Delete</button>}
              {saved && <span role="status" class="ok-text">{saved}</span>}
            </div>
          )}
          {!isNew && entity.source === 'api' && (
            <p class="muted small">Version {entity.version}, updated {new Date(entity.updated_at).toLocaleString()}.</p>
          )}
        </form>
        {!isNew && kind.path === 'upstreams' && <TargetHealth upstream={name!} />}
        {!isNew && kind.path === 'consumers' && <Credentials consumer={name!} readOnly={readOnly} />}
      </div>
    </Page>
  );
}

function FieldInput({ f, value, errors, disabled, onChange }: {
  f: FieldSpec; value: any; errors?: string[]; disabled?: boolean; onChange: (v: any) => void;
}) {
  const id = 'f-' + f.key.replace(/\W/g, '-');
  const errId = id + '-err';
  const helpId = id + '-help';
  const described = [errors ? errId : '', f.help ? helpId : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id, name: f.key, disabled, 'aria-invalid': errors ? ('true' as const) : undefined, 'aria-describedby': described,
    'aria-required': f.required ? ('true' as const) : undefined,
  };
  let input;
  switch (f.type) {
    case 'bool':
      input = <input type="checkbox" {...common} checked={!!value} onChange={(e) => onChange(e.currentTarget.checked)} />;
      break;
    case 'select':
      input = (
        <select {...common} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
          <option value="">(default)</option>
          {f.options!.map((o) => <option value={o}>{o}</option>)}
        </select>
      );
      break;
    case 'json': case 'targets': case 'modeltargets': case 'secretlist':
      input = (
        <textarea {...common} rows={Math.min(10, Math.max(2, String(value || '').split('\n').length))} value={value}
          placeholder={f.placeholder} spellcheck={false} onInput={(e) => onChange(e.currentTarget.value)} />
      );
      break;
    default:
      input = (
        <input {...common} type="text" inputMode={f.type === 'number' ? 'numeric' : undefined} value={value}
          placeholder={f.placeholder} onInput={(e) => onChange(e.currentTarget.value)} />
      );
  }
  return (
    <div class={`field ${f.type === 'bool' ? 'field-check' : ''} ${errors ? 'has-error' : ''}`}>
      <label for={id}>{f.label}</label>
      {input}
      {f.help && <p class="help" id={helpId}>{f.help}</p>}
      {errors && <p class="field-error" id={errId}>{errors.join('; ')}</p>}
    </div>
  );
}
