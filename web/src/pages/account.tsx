// The signed-in user's account: change password, log out, API tokens.
import { useState } from 'preact/hooks';
import { ApiError, call, get, logout } from '../api';
import { navigate } from '../router';
import { ErrorBox, Loading, Page, fmtTime, useAsync } from '../ui';

export function Account() {
  const [old, setOld] = useState('');
  const [pw, setPw] = useState('');
  const [pw2, setPw2] = useState('');
  const [err, setErr] = useState<unknown>(null);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const [done, setDone] = useState('');
  const user = sessionStorage.getItem('sluice_user') || 'you';

  async function change(e: Event) {
    e.preventDefault();
    setErr(null);
    setDone('');
    if (pw !== pw2) {
      setFieldErr({ new2: 'The two new passwords differ.' });
      return;
    }
    setFieldErr({});
    try {
      await call('POST', '/users/me/password', { old, new: pw });
      setDone('Password changed. Your other sessions have been ended.');
      setOld(''); setPw(''); setPw2('');
    } catch (x) {
      if (x instanceof ApiError && x.problems.length) {
        const f: Record<string, string> = {};
        for (const p of x.problems) f[p.field || p.path] = p.message;
        setFieldErr(f);
      } else setErr(x);
    }
  }
  async function out() {
    await logout().catch(() => {});
    navigate('/login', true);
    location.reload();
  }
  const pwField = (id: string, label: string, v: string, set: (s: string) => void, ac: string) => (
    <div class={`field ${fieldErr[id] ? 'has-error' : ''}`}>
      <label for={`acct-${id}`}>{label}</label>
      <input id={`acct-${id}`} type="password" autocomplete={ac} value={v} onInput={(e) => set(e.currentTarget.value)}
        aria-invalid={fieldErr[id] ? 'true' : undefined} aria-describedby={fieldErr[id] ? `acct-${id}-err` : undefined} />
      {fieldErr[id] && <p class="field-error" id={`acct-${id}-err`}>{fieldErr[id]}</p>}
    </div>
  );

  return (
    <Page title="Account" actions={<button type="button" onClick={out}>Log out</button>}>
      <div class="grid-2">
        <form class="card" onSubmit={change} aria-label="Change password">
          <h2>Change password</h2>
          <p class="muted small">Signed in as <strong>{user}</strong>.</p>
          <ErrorBox error={err} />
          {pwField('old', 'Current password', old, setOld, 'current-password')}
          {pwField('new', 'New password (at least 12 characters)', pw, setPw, 'new-password')}
          {pwField('new2', 'New password again', pw2, setPw2, 'new-password')}
          <button type="submit" class="primary">Change password</button>
          {done && <p role="status" class="ok-text">{done}</p>}
        </form>
        <Tokens />
      </div>
      <Users me={user} />
    </Page>
  );
}

function Tokens() {
  const list = useAsync(() => get('/tokens'), []);
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('720h');
  const [created, setCreated] = useState('');
  const [err, setErr] = useState<unknown>(null);
  async function create(e: Event) {
    e.preventDefault();
    setErr(null);
    try {
      const r = await call('POST', '/tokens', { name, expires_in: expires || undefined });
      setCreated(r.data.token);
      setName('');
      list.reload();
    } catch (x) {
      setErr(x);
    }
  }
  async function revoke(id: string) {
    if (!confirm('Revoke this token?')) return;
    await call('DELETE', `/tokens/${encodeURIComponent(id)}`).catch(setErr);
    list.reload();
  }
  return (
    <div class="card">
      <h2>API tokens</h2>
      <ErrorBox error={list.error || err} />
      {list.loading && !list.data ? <Loading /> : (
        <ul class="creds">
          {(list.data?.data || []).map((t: any) => (
            <li>
              <strong>{t.name}</strong> <span class="muted small">created {fmtTime(t.created_at)}{t.expires_at ? `, expires ${fmtTime(t.expires_at)}` : ''}</span>
              <button type="button" class="link danger" onClick={() => revoke(t.id)} aria-label={`Revoke token ${t.name}`}>Revoke</button>
            </li>
          ))}
        </ul>
      )}
      {created && (
        <div class="secret-once" role="alert">
          <p><strong>Copy this token now: it is shown only once.</strong></p>
          <pre>{created}</pre>
          <button type="button" onClick={() => setCreated('')}>I have copied it</button>
        </div>
      )}
      <form onSubmit={create} aria-label="New API token">
        <div class="field"><label for="tok-name">Name</label><input id="tok-name" value={name} required onInput={(e) => setName(e.currentTarget.value)} /></div>
        <div class="field"><label for="tok-exp">Expires in</label><input id="tok-exp" value={expires} placeholder="720h" onInput={(e) => setExpires(e.currentTarget.value)} /></div>
        <button type="submit">Create token</button>
      </form>
    </div>
  );
}

function Users({ me }: { me: string }) {
  const list = useAsync(() => get('/users'), []);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [created, setCreated] = useState<{ user: string; password?: string } | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  async function create(e: Event) {
    e.preventDefault();
    setErr(null);
    setFieldErr({});
    try {
      const r = await call('POST', '/users', { username: name, password: password || undefined });
      setCreated({ user: r.data.username, password: r.data.password });
      setName('');
      setPassword('');
      list.reload();
    } catch (x) {
      if (x instanceof ApiError && x.problems.length) {
        const f: Record<string, string> = {};
        for (const p of x.problems) f[p.field || p.path] = p.message;
        setFieldErr(f);
      } else setErr(x);
    }
  }
  async function remove(u: string) {
    if (!confirm(`Delete the user “${u}”? Their sessions and tokens end.`)) return;
    await call('DELETE', `/users/${encodeURIComponent(u)}`).catch(setErr);
    list.reload();
  }
  return (
    <div class="card">
      <h2>Users</h2>
      <p class="muted small">Every user is an administrator.</p>
      <ErrorBox error={list.error || err} />
      {list.loading && !list.data ? <Loading /> : (
        <ul class="creds">
          {(list.data?.data || []).map((u: any) => (
            <li>
              <strong>{u.username}</strong>{u.username === me && <span class="muted small"> (you)</span>}{' '}
              <span class="muted small">{u.last_login_at ? `last login ${fmtTime(u.last_login_at)}` : 'never logged in'}</span>
              {u.username !== me && (
                <button type="button" class="link danger" onClick={() => remove(u.username)} aria-label={`Delete user ${u.username}`}>Delete</button>
              )}
            </li>
          ))}
        </ul>
      )}
      {created?.password && (
        <div class="secret-once" role="alert">
          <p><strong>The password of {created.user}, shown only once:</strong></p>
          <pre>{created.password}</pre>
          <button type="button" onClick={() => setCreated(null)}>I have copied it</button>
        </div>
      )}
      <form onSubmit={create} aria-label="New user">
        <h3>New user</h3>
        <div class={`field ${fieldErr.username ? 'has-error' : ''}`}>
          <label for="user-name">Username</label>
          <input id="user-name" value={name} required onInput={(e) => setName(e.currentTarget.value)}
            aria-invalid={fieldErr.username ? 'true' : undefined} aria-describedby={fieldErr.username ? 'user-name-err' : undefined} />
          {fieldErr.username && <p class="field-error" id="user-name-err">{fieldErr.username}</p>}
        </div>
        <div class={`field ${fieldErr.password ? 'has-error' : ''}`}>
          <label for="user-password">Password (empty: generate one)</label>
          <input id="user-password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)}
            aria-invalid={fieldErr.password ? 'true' : undefined} aria-describedby={fieldErr.password ? 'user-password-err' : undefined} />
          {fieldErr.password && <p class="field-error" id="user-password-err">{fieldErr.password}</p>}
        </div>
        <button type="submit">Create user</button>
      </form>
    </div>
  );
}
