'use client'
import { useRouter, useSearchParams } from 'next/navigation'
import { Suspense, useEffect, useState } from 'react'
import { ErrorAlert, Field } from '@/components/ui'
import { Logo } from '@/components/icons'
import { createAnonymousClient } from '@/lib/client'
import { toFormErrors } from '@/lib/errors'
import { graphql } from '@/lib/graphql'
import { saveSession, useSession } from '@/lib/session'

const LoginMutation = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
      expiresAt
      user { id username role }
    }
  }
`)

function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/dashboard'
}

function LoginForm() {
  const router = useRouter()
  const params = useSearchParams()
  const session = useSession()
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const next = safeNext(params.get('next'))

  useEffect(() => {
    document.title = 'Sign in · Switchyard'
    if (session) router.replace(next)
  }, [session, router, next])

  async function submit(e: React.FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    const r = await createAnonymousClient().mutation(LoginMutation, { username, password }).toPromise()
    setBusy(false)
    if (r.data) {
      saveSession({ token: r.data.login.token, expiresAt: r.data.login.expiresAt, user: r.data.login.user })
      router.replace(next)
    } else {
      const fe = toFormErrors(r.error)
      if (fe.code === 'RATE_LIMITED') {
        // Throttled after repeated failures: the server says how long to wait, in words.
        const why = fe.form ?? 'too many failed sign-ins: try again later'
        setError(why.charAt(0).toUpperCase() + why.slice(1) + '.')
        return
      }
      setError(fe.code === 'UNAUTHENTICATED' || /password|credentials/i.test(fe.form ?? '') ? 'Wrong username or password.' : (fe.form ?? 'Sign-in failed.'))
    }
  }

  return (
    <div className="login-wrap">
      <form className="login-card" onSubmit={submit}>
        <div className="brand" style={{ padding: 0 }}>
          <span className="brand-mark">
            <Logo />
          </span>
          Switchyard
        </div>
        <div>
          <h1>Sign in</h1>
          <p className="muted small" style={{ margin: '4px 0 0' }}>
            Job orchestration for infrastructure and network operations.
          </p>
        </div>
        <ErrorAlert message={error} />
        <Field label="Username">{(p) => <input {...p} name="username" autoComplete="username" autoFocus required value={username} onChange={(e) => setUsername(e.target.value)} />}</Field>
        <Field label="Password">
          {(p) => <input {...p} name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <button type="submit" className="btn primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  )
}

export default function LoginPage() {
  return (
    <Suspense>
      <LoginForm />
    </Suspense>
  )
}
