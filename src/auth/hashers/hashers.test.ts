/**
 * The hashers against hashes that Django itself wrote (test/fixtures/django-hashes.json, made by
 * test/fixtures/make-django-hashes.py, and the shared Django fixture's users), and PasswordHashers' rules:
 * rehash only on success, the same cost for every kind of failure.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import util from 'node:util';
import { describe, expect, it } from '@jest/globals';
import {
  Argon2Hasher,
  BcryptHasher,
  MAX_PASSWORD_LENGTH,
  PasswordHashers,
  PasswordTooLongError,
  Pbkdf2Hasher,
  ScryptHasher,
  type PasswordHasher,
} from './index.js';
import { CountingHasher as Counting } from '../../../test/support/counting-hasher.js';
import { DJANGO_PASSWORDS, djangoFixtureSql } from '../../../test/support/django-fixture.js';

interface Vector {
  algorithm: string;
  params: Record<string, number>;
  password: string;
  encoded: string;
}

const generated = JSON.parse(
  fs.readFileSync(new URL('../../../test/fixtures/django-hashes.json', import.meta.url), 'utf8'),
) as { django: string; vectors: Vector[] };

/** The users of the Django 3.2 fixture (test/fixtures/django-auth/) whose passwords its README gives. */
function fixtureVectors(): Vector[] {
  const passwords: Record<string, string> = DJANGO_PASSWORDS;
  return [...djangoFixtureSql().matchAll(/INSERT INTO public\.auth_user VALUES \(\d+, '([^']+)', NULL, \w+, '(\w+)'/g)]
    .filter((match) => match[2] !== undefined && match[2] in passwords)
    .map(([, encoded = '', username = '']) => ({
      algorithm: encoded.slice(0, encoded.indexOf('$')),
      params: {},
      password: passwords[username] ?? '',
      encoded,
    }));
}

/** One hasher per algorithm, with default parameters: any of them verifies any parameters. */
const verifiers: Record<string, PasswordHasher> = Object.fromEntries(
  [
    new Pbkdf2Hasher({ digest: 'sha256' }),
    new Pbkdf2Hasher({ digest: 'sha1' }),
    new Argon2Hasher(),
    new BcryptHasher({ sha256: true }),
    new BcryptHasher({ sha256: false }),
    new ScryptHasher(),
  ].map((hasher) => [hasher.algorithm, hasher]),
);

/** Cheap enough to check three times each: the wrong password and a tampered hash too. */
function isCheap({ params }: Vector): boolean {
  return (
    (params.iterations ?? 0) <= 1000 &&
    (params.rounds ?? 0) <= 4 &&
    (params.memory_cost ?? 0) <= 512 &&
    (params.work_factor ?? 0) <= 1024
  );
}

/** Flips one character of the digest at the end of a hash. */
function tamper(encoded: string): string {
  const last = encoded.at(-2) === 'A' ? 'B' : 'A';
  return `${encoded.slice(0, -2)}${last}${encoded.slice(-1)}`;
}

describe('hashes written by Django', () => {
  const vectors = [...generated.vectors, ...fixtureVectors()];

  it('cover every algorithm, from Django 3.2 and the shared fixture', () => {
    expect(generated.django).toBe('3.2.25');
    expect(new Set(vectors.map((vector) => vector.algorithm))).toEqual(
      new Set(['pbkdf2_sha256', 'pbkdf2_sha1', 'argon2', 'bcrypt_sha256', 'bcrypt', 'scrypt']),
    );
    expect(fixtureVectors()).toHaveLength(7);
  });

  it.each(vectors.map((vector) => [vector.encoded.slice(0, 40), vector] as const))(
    'verify with the right password: %s…',
    async (_, vector) => {
      const hasher = verifiers[vector.algorithm];
      expect(await hasher?.verify(vector.password, vector.encoded)).toBe(true);
    },
  );

  it.each(vectors.filter(isCheap).map((vector) => [vector.encoded.slice(0, 40), vector] as const))(
    'refuse a wrong password and a tampered hash: %s…',
    async (_, vector) => {
      const hasher = verifiers[vector.algorithm];
      expect(await hasher?.verify(`?${vector.password.slice(1)}`, vector.encoded)).toBe(false);
      expect(await hasher?.verify(`!${vector.password}`, vector.encoded)).toBe(false);
      expect(await hasher?.verify(vector.password, tamper(vector.encoded))).toBe(false);
      expect(await hasher?.verify(vector.password, vector.encoded.slice(0, -6))).toBe(false);
    },
  );
});

describe('hashes written here', () => {
  it.each([
    [
      new Pbkdf2Hasher({ digest: 'sha256', iterations: 1000 }),
      /^pbkdf2_sha256\$1000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=$/,
    ],
    [
      new Pbkdf2Hasher({ digest: 'sha1', iterations: 1000 }),
      /^pbkdf2_sha1\$1000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{27}=$/,
    ],
    [new Argon2Hasher(), /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{30}\$[A-Za-z0-9+/]{43}$/],
    [new BcryptHasher({ sha256: true, rounds: 4 }), /^bcrypt_sha256\$\$2b\$04\$[./A-Za-z0-9]{53}$/],
    [new BcryptHasher({ sha256: false, rounds: 4 }), /^bcrypt\$\$2b\$04\$[./A-Za-z0-9]{53}$/],
    [new ScryptHasher({ workFactor: 1024 }), /^scrypt\$1024\$[A-Za-z0-9]{22}\$8\$5\$[A-Za-z0-9+/]{86}==$/],
  ])("%p writes Django's format, salted afresh each time, and verifies it", async (hasher, format) => {
    const first = await hasher.encode('s3cret pässword');
    const second = await hasher.encode('s3cret pässword');
    expect(first).toMatch(format);
    expect(second).not.toBe(first);
    expect(await hasher.verify('s3cret pässword', first)).toBe(true);
    expect(await hasher.verify('s3cret password', first)).toBe(false);
    expect(hasher.mustUpdate(first)).toBe(false);
  });

  it("bcrypt_sha256 is not fooled by bcrypt's 72-byte truncation; plain bcrypt is, as in Django", async () => {
    const long = 'x'.repeat(72);
    const sha = new BcryptHasher({ sha256: true, rounds: 4 });
    const plain = new BcryptHasher({ sha256: false, rounds: 4 });
    expect(await sha.verify(`${long}tail`, await sha.encode(`${long}other`))).toBe(false);
    expect(await plain.verify(`${long}tail`, await plain.encode(`${long}other`))).toBe(true);
  });
});

describe('mustUpdate', () => {
  it('is true, as in Django 3.2, for a salt of less than 128 bits (12 characters, Django 3.1 and earlier)', () => {
    const shortSalted = generated.vectors.filter((vector) => vector.params.salt_length === 12);
    expect(shortSalted).toHaveLength(2);
    for (const vector of shortSalted) {
      const current = new Pbkdf2Hasher({
        digest: vector.algorithm === 'pbkdf2_sha1' ? 'sha1' : 'sha256',
        iterations: 1000,
      });
      expect([vector.encoded, current.mustUpdate(vector.encoded)]).toEqual([vector.encoded, true]);
    }
  });

  it("reads $2y$ (PHP's name for $2b$) as $2b$", async () => {
    const vector = generated.vectors.find((v) => v.algorithm === 'bcrypt' && v.params.rounds === 4);
    const as2y = vector?.encoded.replace('$2b$', '$2y$') ?? '';
    expect(as2y).toContain('$$2y$04$');
    expect(await verifiers.bcrypt?.verify(vector?.password ?? '', as2y)).toBe(true);
    expect(await verifiers.bcrypt?.verify('wrong', as2y)).toBe(false);
  });

  it('is true when the parameters differ from the current ones', async () => {
    const argon = new Argon2Hasher();
    expect(argon.mustUpdate(await new Argon2Hasher({ memoryCost: 512 }).encode('pw'))).toBe(true);
    expect(argon.mustUpdate(await new Argon2Hasher({ timeCost: 3 }).encode('pw'))).toBe(true);
    expect(argon.mustUpdate('argon2$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA')).toBe(true);
    const pbkdf2 = new Pbkdf2Hasher({ digest: 'sha256', iterations: 2000 });
    expect(pbkdf2.mustUpdate(await new Pbkdf2Hasher({ digest: 'sha256', iterations: 1000 }).encode('pw'))).toBe(true);
    expect(pbkdf2.mustUpdate(await pbkdf2.encode('pw'))).toBe(false);
    expect(
      new BcryptHasher({ sha256: true }).mustUpdate(await new BcryptHasher({ sha256: true, rounds: 4 }).encode('pw')),
    ).toBe(true);
    expect(new ScryptHasher().mustUpdate(await new ScryptHasher({ workFactor: 1024 }).encode('pw'))).toBe(true);
  });
});

describe('PasswordHashers', () => {
  describe('with PASSWORD_HASHING_CONCURRENCY', () => {
    /** Twelve hashing runs at once: made, checked right, checked wrong, and dummy runs for unknown users. */
    async function burst(concurrency?: number) {
      const preferred = new Counting(new Pbkdf2Hasher({ digest: 'sha256', iterations: 20_000 }));
      const hashers = new PasswordHashers([preferred], undefined, concurrency);
      const stored = await hashers.make('right-password');
      const outcomes = await Promise.all(
        Array.from({ length: 3 }, () => [
          hashers.make('another').then((made) => made.startsWith('pbkdf2_sha256$')),
          hashers.verify('right-password', stored).then(({ valid }) => valid),
          hashers.verify('wrong-password', stored).then(({ valid }) => !valid),
          hashers.runDummy('unknown-user').then(() => true),
        ]).flat(),
      );
      return { outcomes, maxInFlight: preferred.maxInFlight, runs: preferred.runs };
    }

    it('runs at most that many hashes at once; the others wait their turn, and all finish', async () => {
      for (const concurrency of [1, 2]) {
        const { outcomes, maxInFlight, runs } = await burst(concurrency);
        expect(outcomes).toEqual(Array<boolean>(12).fill(true));
        expect(runs).toBe(13);
        expect(maxInFlight).toBe(concurrency);
      }
    });

    it('runs them all at once without a limit', async () => {
      expect((await burst()).maxInFlight).toBe(12);
    });
  });

  function setUp() {
    const preferred = new Counting(new Pbkdf2Hasher({ digest: 'sha256', iterations: 2000 }));
    const legacy = new Counting(new Pbkdf2Hasher({ digest: 'sha1', iterations: 1000 }));
    return { preferred, legacy, hashers: new PasswordHashers([preferred, legacy]) };
  }

  it('encodes with the first hasher', async () => {
    const { hashers } = setUp();
    expect(await hashers.make('pw')).toMatch(/^pbkdf2_sha256\$2000\$/);
  });

  it('makes an unusable password for none, which never verifies', async () => {
    const { hashers } = setUp();
    const unusable = await hashers.make(null);
    expect(unusable).toMatch(/^![A-Za-z0-9]{40}$/);
    expect(hashers.isUsable(unusable)).toBe(false);
    expect(await hashers.verify('', unusable)).toEqual({ valid: false, mustUpdate: false });
    expect(await hashers.verify(unusable, unusable)).toEqual({ valid: false, mustUpdate: false });
  });

  it('asks for a rehash after a successful check against another algorithm or older parameters, only then', async () => {
    const { hashers } = setUp();
    const legacyHash = await new Pbkdf2Hasher({ digest: 'sha1', iterations: 1000 }).encode('pw');
    expect(await hashers.verify('pw', legacyHash)).toEqual({ valid: true, mustUpdate: true });
    const olderHash = await new Pbkdf2Hasher({ digest: 'sha256', iterations: 1000 }).encode('pw');
    expect(await hashers.verify('pw', olderHash)).toEqual({ valid: true, mustUpdate: true });
    expect(await hashers.verify('pw', await hashers.make('pw'))).toEqual({ valid: true, mustUpdate: false });
  });

  it('costs one hasher run for a wrong password, an unusable one, an unknown algorithm, or no hash at all', async () => {
    const { hashers, preferred, legacy } = setUp();
    const current = await hashers.make('pw');
    preferred.encodes = 0;
    for (const encoded of [current, '!unusable', 'md5$salt$hash', 'garbage', null]) {
      const before = preferred.runs + legacy.runs;
      expect((await hashers.verify('wrong', encoded)).valid).toBe(false);
      expect([encoded, preferred.runs + legacy.runs - before]).toEqual([encoded, 1]);
    }
  });

  it('pads a failed check against a weaker hash of the preferred algorithm (harden_runtime)', async () => {
    const { hashers, preferred } = setUp();
    const weaker = await new Pbkdf2Hasher({ digest: 'sha256', iterations: 1000 }).encode('pw');
    expect(await hashers.verify('wrong', weaker)).toEqual({ valid: false, mustUpdate: true });
    expect(preferred.hardens).toBe(1);
    expect(await hashers.verify('pw', weaker)).toEqual({ valid: true, mustUpdate: true });
    expect(preferred.hardens).toBe(1);
  });

  it('refuses to store a password over the length limit, without hashing it', async () => {
    const { hashers, preferred, legacy } = setUp();
    const runs = preferred.runs + legacy.runs;
    await expect(hashers.make('x'.repeat(1024 * 1024))).rejects.toBeInstanceOf(PasswordTooLongError);
    expect(preferred.runs + legacy.runs).toBe(runs);
    expect(await hashers.make('y'.repeat(MAX_PASSWORD_LENGTH))).toMatch(/^pbkdf2_sha256\$/);
  });

  it('answers a login with a password over the limit no faster than one for a missing user', async () => {
    const { hashers, preferred, legacy } = setUp();
    const current = await hashers.make('pw');
    const before = { preferred: preferred.encodes, verifies: preferred.verifies + legacy.verifies };
    expect(await hashers.verify('x'.repeat(1024 * 1024), current)).toEqual({ valid: false, mustUpdate: false });
    // One preferred run on the first MAX_PASSWORD_LENGTH characters, as for a user who does not exist;
    // the megabyte itself is never hashed.
    expect({
      encodes: preferred.encodes - before.preferred,
      verifies: preferred.verifies + legacy.verifies - before.verifies,
    }).toEqual({
      encodes: 1,
      verifies: 0,
    });
  });

  it.each([
    ['absurd pbkdf2 iterations', 'pbkdf2_sha256$9999999999$saltsaltsaltsaltsalt12$aGFzaA=='],
    ['pbkdf2 iterations past the bound', 'pbkdf2_sha256$10000001$saltsaltsaltsaltsalt12$aGFzaA=='],
    ['bcrypt cost 31', 'bcrypt_sha256$$2b$31$' + 'a'.repeat(53)],
    ['bcrypt $2x$', 'bcrypt$$2x$12$' + 'a'.repeat(53)],
    ['scrypt N not a power of two', 'scrypt$16385$saltsaltsaltsaltsalt12$8$1$aGFzaA=='],
    ['scrypt needing 16 GiB', 'scrypt$16777216$saltsaltsaltsaltsalt12$8$1$aGFzaA=='],
    ['argon2 with 64 GiB', 'argon2$argon2id$v=19$m=67108864,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo'],
    ['a known prefix with nothing after it', 'pbkdf2_sha256'],
    ['a prefix that only starts like a known one', 'pbkdf2_sha256x$1000$salt$hash'],
  ])('does not spend time on %s from the database, and answers as for a missing user', async (_, encoded) => {
    const preferred = new Counting(new Pbkdf2Hasher({ digest: 'sha256', iterations: 1000 }));
    const hashers = new PasswordHashers([
      preferred,
      new Pbkdf2Hasher({ digest: 'sha1' }),
      new Argon2Hasher(),
      new BcryptHasher({ sha256: true }),
      new BcryptHasher({ sha256: false }),
      new ScryptHasher(),
    ]);
    expect(await hashers.verify('password', encoded)).toEqual({ valid: false, mustUpdate: false });
    expect({ encodes: preferred.encodes, verifies: preferred.verifies }).toEqual({ encodes: 1, verifies: 0 });
  });
});

describe('hashing and the event loop', () => {
  /**
   * The share of the time the event loop spent running JavaScript rather than waiting for events, while `work` ran
   * again and again for at least 250 ms. Waiting is what a loop does while a hash runs in libuv's threads, however
   * busy the machine; a hash on the loop's own thread keeps it running from start to end. Unlike a count of turns,
   * this does not shrink when other processes take the CPU. The 250 ms dilute a short burst of other work on the
   * loop (a garbage collection, an earlier test file's timer), which one fast hash of 50 ms could not: a CI run
   * measured 0.54 for scrypt that way.
   */
  async function loopBusyDuring(work: () => Promise<unknown>): Promise<number> {
    const before = performance.eventLoopUtilization();
    const start = performance.now();
    do await work();
    while (performance.now() - start < 250);
    return performance.eventLoopUtilization(before).utilization;
  }

  /**
   * The least of up to five measures, stopping at the first under 0.5. Other JavaScript of the same worker process
   * (what an earlier test file left running, an embedded database's WebAssembly) can keep the loop busy during one
   * measure: a CI run measured 0.91 once. A hash run on the loop keeps it busy every time, so the least still shows it.
   */
  async function leastLoopBusyDuring(work: () => Promise<unknown>): Promise<number> {
    let least = 1;
    for (let attempt = 0; attempt < 5 && least >= 0.5; attempt += 1)
      least = Math.min(least, await loopBusyDuring(work));
    return least;
  }

  it('tells a hash run on the event loop from one run beside it', async () => {
    const password = 'correct horse battery staple';
    const onTheLoop = () => Promise.resolve(crypto.pbkdf2Sync(password, 'salt', 600_000, 32, 'sha256'));
    const besideIt = () => util.promisify(crypto.pbkdf2)(password, 'salt', 600_000, 32, 'sha256');
    await besideIt(); // a worker's first hash shares the loop with start-up work still running
    expect(await leastLoopBusyDuring(besideIt)).toBeLessThan(0.5);
    expect(await leastLoopBusyDuring(onTheLoop)).toBeGreaterThan(0.9);
  });

  // Each at its default cost (tens to hundreds of milliseconds of CPU), making a hash and checking it.
  it.each([
    ['argon2', new Argon2Hasher()],
    ['bcrypt_sha256', new BcryptHasher({ sha256: true })],
    ['pbkdf2_sha256', new Pbkdf2Hasher({ digest: 'sha256' })],
    ['scrypt', new ScryptHasher()],
  ] as const)('%s hashes outside the event loop, which waits meanwhile', async (_name, hasher) => {
    const encoded = await hasher.encode('correct horse battery staple');
    expect(await leastLoopBusyDuring(() => hasher.encode('correct horse battery staple'))).toBeLessThan(0.5);
    expect(await leastLoopBusyDuring(() => hasher.verify('correct horse battery staple', encoded))).toBeLessThan(0.5);
  });
});
