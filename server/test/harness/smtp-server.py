"""A real SMTP server for the notification tests (Debian's python3-aiosmtpd), on loopback.

Every message it accepts is written to <dir>/<n>.json: envelope, raw message, whether the session was
TLS (implicit or STARTTLS) and which login authenticated. Modes: plain, starttls (STARTTLS required
before MAIL), tls (implicit TLS). With --user/--password, AUTH (PLAIN/LOGIN) is required.
Prints "LISTENING <port>" once it accepts connections; stops on SIGTERM or when stdin closes.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--dir', required=True)
    p.add_argument('--mode', choices=['plain', 'starttls', 'tls'], default='plain')
    p.add_argument('--cert')
    p.add_argument('--key')
    p.add_argument('--user')
    p.add_argument('--password')
    p.add_argument('--reject', help='answer DATA with this SMTP reply (e.g. "550 mailbox unavailable")')
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    counter = {'n': 0}

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            if a.reject:
                return a.reject
            counter['n'] += 1
            record = {
                'mailFrom': envelope.mail_from,
                'rcptTos': envelope.rcpt_tos,
                'data': envelope.content.decode('utf8', errors='replace'),
                'tls': session.ssl is not None or server.transport.get_extra_info('ssl_object') is not None,
                'login': session.auth_data.decode() if isinstance(session.auth_data, bytes) else session.auth_data,
            }
            tmp = os.path.join(a.dir, f'.{counter["n"]}.tmp')
            with open(tmp, 'w') as f:
                json.dump(record, f)
            os.rename(tmp, os.path.join(a.dir, f'{counter["n"]}.json'))
            return '250 2.0.0 Ok: queued as test-' + str(counter['n'])

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = a.user is not None and auth_data.login == a.user.encode() and auth_data.password == a.password.encode()
        # handled=False: aiosmtpd then answers 535 itself (its default assumes the authenticator replied).
        return AuthResult(success=ok, handled=False, auth_data=a.user if ok else None)

    ctx = None
    if a.mode != 'plain':
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)

    kwargs = {'hostname': 'smtp.test', 'auth_require_tls': a.mode != 'plain', 'auth_exclude_mechanism': ['CRAM-MD5']}
    if a.user:
        kwargs['authenticator'] = authenticator
        kwargs['auth_required'] = True
    if a.mode == 'starttls':
        kwargs['tls_context'] = ctx
        kwargs['require_starttls'] = True

    async def run():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Handler(), **kwargs), host='127.0.0.1', port=0, ssl=ctx if a.mode == 'tls' else None
        )
        print('LISTENING', server.sockets[0].getsockname()[1], flush=True)
        stop = asyncio.Event()
        loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(1024) else None)
        for sig in ('SIGTERM', 'SIGINT'):
            import signal
            loop.add_signal_handler(getattr(signal, sig), stop.set)
        await stop.wait()
        server.close()

    asyncio.run(run())


if __name__ == '__main__':
    main()
