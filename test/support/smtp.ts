/**
 * A real SMTP server on a free loopback port (smtp-server, by nodemailer's authors) that keeps what it receives,
 * for testing the SMTP mail backend end to end.
 *
 *   const smtp = await startSmtpServer({ user: 'mailer', password: 'secret' });
 *   const app = await createTestApp({ env: { SMTP_URL: smtp.url } });
 *   const message = await smtp.next();
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope sender and recipients, as the server saw them. */
  readonly from: string;
  readonly to: readonly string[];
  /** Header names lower-cased; values unfolded. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, transfer encoding undone. */
  readonly text: string;
}

export interface TestSmtpServer {
  /** smtp://[user:password@]127.0.0.1:port */
  readonly url: string;
  readonly received: readonly ReceivedMail[];
  /** Resolves with the next message not yet taken by `next`, waiting for it up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
}

export async function startSmtpServer(credentials?: { user: string; password: string }): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const waiting: (() => void)[] = [];
  let taken = 0;
  const server = new SMTPServer({
    // Plain SMTP on loopback: no certificate to make, and the backend must still send when STARTTLS is not offered.
    disabledCommands: credentials ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: !credentials,
    logger: false,
    onAuth(auth, _session, callback) {
      if (credentials && auth.username === credentials.user && auth.password === credentials.password) {
        callback(null, { user: auth.username });
      } else {
        callback(new Error('Invalid username or password'));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          ...parse(Buffer.concat(chunks).toString('utf8')),
        });
        for (const wake of waiting.splice(0)) wake();
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;
  const userinfo = credentials
    ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@`
    : '';
  return {
    url: `smtp://${userinfo}127.0.0.1:${port}`,
    received,
    async next(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length <= taken) {
        if (Date.now() >= deadline) throw new Error(`no e-mail arrived within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return received[taken++] as ReceivedMail;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Headers and a single-part body (what the mailer sends), quoted-printable or base64 decoded. */
function parse(raw: string): Pick<ReceivedMail, 'headers' | 'text'> {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = raw.slice(split + 4);
  const encoding = headers['content-transfer-encoding']?.toLowerCase();
  const text =
    encoding === 'quoted-printable'
      ? Buffer.from(
          body
            .replace(/=\r\n/g, '')
            .replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
          'latin1',
        ).toString('utf8')
      : encoding === 'base64'
        ? Buffer.from(body, 'base64').toString('utf8')
        : body;
  return { headers, text: text.replace(/\r\n/g, '\n') };
}
