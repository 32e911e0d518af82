import Link from 'next/link'

export default function NotFound() {
  return (
    <div className="login-wrap">
      <div className="login-card" style={{ textAlign: 'center' }}>
        <h1>Page not found</h1>
        <p className="muted" style={{ margin: 0 }}>
          There is nothing at this address. The API lives at <code>/graphql</code>.
        </p>
        <Link className="btn primary" href="/dashboard">
          Go to the dashboard
        </Link>
      </div>
    </div>
  )
}
