import { useState } from 'preact/hooks';
import { ApiError, login } from '../api';

export function Login({ onLogin, expired }: { onLogin: () => void; expired: boolean }) {
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  document.title = 'Log in · sluice';

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await login(username, password);
      onLogin();
    } catch (err) {
      const a = err as ApiError;
      setError(a.status === 401 ? 'Wrong username or password.' : a.detail || String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="login" id="main">
      <form onSubmit={submit} class="card login-card" aria-labelledby="page-title">
        <h1 id="page-title">sluice console</h1>
        {expired && (
          <p class="notice" role="status">
            Your session has ended. Log in again to continue.
          </p>
        )}
        <label for="login-username">Username</label>
        <input id="login-username" name="username" autocomplete="username" required value={username}
          onInput={(e) => setUsername(e.currentTarget.value)} />
        <label for="login-password">Password</label>
        <input id="login-password" name="password" type="password" autocomplete="current-password" required
          value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <p class="muted small">
          On first start sluice creates the user <code>admin</code> with the password from
          <code> SLUICE_ADMIN_PASSWORD</code>, or prints a random one on its standard error.
        </p>
      </form>
    </main>
  );
}
