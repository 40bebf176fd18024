/**
 * The audit recorder on a real database: every event of the bus becomes its row (those no code of this package
 * emits yet too: emitted here on a bus of the test's own), attributed to the request being served and, under
 * impersonation, to both users; nothing of a credential but the name tried; a bounded queue; a broken database
 * costing the emitter nothing; what is queued written at close.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditRecorder, databaseWrite } from '../../src/audit/recorder.js';
import type { AuditRow } from '../../src/audit/rows.js';
import { AuthEventBus, scrubCredentials } from '../../src/auth/events.js';
import { run, selectAll } from '../../src/db/sql.js';
import { User } from '../../src/entities/user.js';
import { createLogger, currentRequest, runWithRequestId } from '../../src/logger.js';
import { createAuthFixture, type AuthFixture } from '../support/auth.js';
import { TestClock } from '../support/clock.js';
import { testLogger } from '../support/env.js';

/** A logger whose lines the test reads. */
function capturedLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const logger = createLogger('warn', {
    write(line: string) {
      lines.push(JSON.parse(line) as (typeof lines)[number]);
    },
  });
  return { logger, lines };
}

interface StoredRow {
  id: string;
  at: string;
  kind: string;
  actor_id: number | null;
  impersonator_id: number | null;
  target_user_id: number | null;
  target_group_id: number | null;
  username: string | null;
  address: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

describe('the audit recorder', () => {
  let fixture: AuthFixture;
  const clock = new TestClock(Date.parse('2026-12-06T09:00:00Z'));
  let alice: number;
  let bob: number;

  const rows = () => selectAll<StoredRow>(fixture.em(), 'SELECT * FROM gqlauth_audit_event ORDER BY id');
  const clear = async () => {
    const em = fixture.em();
    await em.transactional(async (tx) => {
      await selectAll(tx, "SELECT set_config('gqlauth.audit_prune', 'on', true)");
      await run(tx, 'DELETE FROM gqlauth_audit_event');
    });
  };
  const recorder = (options: Partial<ConstructorParameters<typeof AuditRecorder>[1]> = {}) =>
    new AuditRecorder(databaseWrite(fixture.database.orm.em), { logger: testLogger, queueLimit: 100, ...options });

  beforeAll(async () => {
    fixture = await createAuthFixture();
    alice = (await fixture.auth.users.createUser(fixture.em(), { username: 'alice', password: 'alice-pass-1' })).id;
    bob = (await fixture.auth.users.createUser(fixture.em(), { username: 'bob', password: 'bob-pass-12' })).id;
  });
  afterAll(() => fixture.close());

  it('records every event of the bus, attributed to the request being served', async () => {
    await clear();
    const bus = new AuthEventBus();
    const audit = recorder();
    audit.listen(bus, clock);
    const aliceUser = await fixture.em().findOneOrFail(User, alice);
    // A request of bob's, acting as alice (impersonation), from 192.0.2.7.
    await runWithRequestId(
      'req-1',
      async () => {
        const scope = currentRequest();
        if (!scope) throw new Error('no request scope');
        scope.userId = alice;
        scope.impersonatorId = bob;
        await bus.emit('accessTokenCreated', {
          actorId: alice,
          userId: alice,
          tokenId: 7,
          name: 'ci',
          scopes: ['polls.view_poll'],
          expiresAt: new Date('2027-01-01T00:00:00Z'),
        });
        await bus.emit('accessTokenRevoked', { actorId: alice, userId: alice, tokenId: 7 });
        await bus.emit('sessionEnded', { actorId: alice, userId: alice });
        await bus.emit('userPermissionsChanged', {
          actorId: alice,
          userId: bob,
          added: ['polls.view_poll'],
          removed: [],
          objectId: '12',
        });
        await bus.emit('groupPermissionsChanged', {
          actorId: alice,
          groupId: 3,
          groupName: 'Editors',
          added: [],
          removed: ['polls.add_poll'],
        });
        await bus.emit('userGroupsChanged', { actorId: alice, userId: bob, added: ['Editors'], removed: [] });
        await bus.emit('userStatusChanged', { actorId: alice, userId: bob, changed: { isStaff: true } });
        // The password event names no actor: the request's user (alice, impersonated by bob) did it.
        await bus.emit('userPasswordChanged', { userId: alice, via: 'change' });
        // Ending an impersonation: bob is the event's own actor, and not named twice.
        await bus.emit('impersonationEnded', { actorId: bob, userId: alice });
      },
      '192.0.2.7',
    );
    // Outside any request: an operator's command, and the start of an impersonation with its own actor.
    await bus.emit('impersonationStarted', { actorId: bob, userId: alice });
    await bus.emit('userPasswordChanged', { userId: bob, via: 'command' });
    await bus.emit('userPasswordChanged', { userId: bob, via: 'reset' });
    await bus.emit('userPasswordChanged', { userId: bob, via: 'admin' });
    await bus.emit('userLoggedIn', { user: aliceUser, backend: 'model' });
    await bus.emit('userLoggedOut', { user: aliceUser });
    await bus.emit('userLoggedOut', { user: null });
    await bus.emit('userLockedOut', { username: 'alice', ip: '203.0.113.9', action: 'login', retryAfterSeconds: 60 });
    await bus.emit('userLoginFailed', {
      credentials: scrubCredentials({ username: 'alice', password: 'hunter2-secret', pin: '8123-secret' }),
      reasons: [{ backend: 'model', reason: 'wrong_password' }],
    });
    await audit.close(5000);

    const found = await rows();
    const shown = found.map((row) => ({
      kind: row.kind,
      actor: row.actor_id,
      impersonator: row.impersonator_id,
      user: row.target_user_id,
      group: row.target_group_id,
      username: row.username,
      address: row.address,
      request: row.request_id,
      details: row.details,
    }));
    const inRequest = { address: '192.0.2.7', request: 'req-1' };
    const outside = { address: null, request: null, impersonator: null, group: null };
    expect(shown).toEqual([
      {
        kind: 'access_token_created',
        actor: alice,
        impersonator: bob,
        user: alice,
        group: null,
        username: 'alice',
        ...inRequest,
        details: { tokenId: 7, name: 'ci', scopes: ['polls.view_poll'], expiresAt: '2027-01-01T00:00:00.000Z' },
      },
      {
        kind: 'access_token_revoked',
        actor: alice,
        impersonator: bob,
        user: alice,
        group: null,
        username: 'alice',
        ...inRequest,
        details: { tokenId: 7 },
      },
      {
        kind: 'session_ended',
        actor: alice,
        impersonator: bob,
        user: alice,
        group: null,
        username: 'alice',
        ...inRequest,
        details: {},
      },
      {
        kind: 'user_permissions_changed',
        actor: alice,
        impersonator: bob,
        user: bob,
        group: null,
        username: 'bob',
        ...inRequest,
        details: { added: ['polls.view_poll'], removed: [], objectId: '12' },
      },
      {
        kind: 'group_permissions_changed',
        actor: alice,
        impersonator: bob,
        user: null,
        group: 3,
        username: null,
        ...inRequest,
        details: { group: 'Editors', added: [], removed: ['polls.add_poll'] },
      },
      {
        kind: 'user_groups_changed',
        actor: alice,
        impersonator: bob,
        user: bob,
        group: null,
        username: 'bob',
        ...inRequest,
        details: { added: ['Editors'], removed: [] },
      },
      {
        kind: 'user_status_changed',
        actor: alice,
        impersonator: bob,
        user: bob,
        group: null,
        username: 'bob',
        ...inRequest,
        details: { isStaff: true },
      },
      {
        kind: 'password_changed',
        actor: alice,
        impersonator: bob,
        user: alice,
        group: null,
        username: 'alice',
        ...inRequest,
        details: { via: 'change' },
      },
      {
        kind: 'impersonation_ended',
        actor: bob,
        impersonator: null,
        user: alice,
        group: null,
        username: 'alice',
        ...inRequest,
        details: {},
      },
      { kind: 'impersonation_started', actor: bob, user: alice, username: 'alice', ...outside, details: {} },
      { kind: 'password_set', actor: null, user: bob, username: 'bob', ...outside, details: { via: 'command' } },
      { kind: 'password_reset', actor: null, user: bob, username: 'bob', ...outside, details: { via: 'reset' } },
      { kind: 'password_set', actor: null, user: bob, username: 'bob', ...outside, details: { via: 'admin' } },
      {
        kind: 'login',
        actor: alice,
        user: alice,
        username: 'alice',
        ...outside,
        details: { backend: 'model' },
      },
      { kind: 'logout', actor: alice, user: alice, username: 'alice', ...outside, details: {} },
      // An anonymous logout: nothing. A lockout outside a request: the address it counted.
      {
        kind: 'lockout',
        actor: null,
        user: null,
        username: 'alice',
        ...outside,
        address: '203.0.113.9',
        details: { action: 'login', retryAfterSeconds: 60 },
      },
      // The name tried, never the rest of what was sent (scrubbed or not).
      {
        kind: 'login_failed',
        actor: null,
        user: null,
        username: 'alice',
        ...outside,
        details: { reasons: [{ backend: 'model', reason: 'wrong_password' }] },
      },
    ]);
    expect(found.every((row) => new Date(row.at).getTime() === clock.now().getTime())).toBe(true);
    expect(JSON.stringify(found)).not.toMatch(/secret|\*\*\*/);
  });

  it('keeps a name no column could store, less its NUL characters, without losing its batch', async () => {
    await clear();
    const bus = new AuthEventBus();
    const audit = recorder();
    audit.listen(bus, clock);
    await bus.emit('userLockedOut', { username: 'a\u0000b\ud800', ip: '', action: 'login', retryAfterSeconds: 1 });
    await bus.emit('userLockedOut', { username: 'x'.repeat(500), ip: '', action: 'login', retryAfterSeconds: 1 });
    await audit.close(5000);
    expect((await rows()).map((row) => row.username)).toEqual(['ab\ufffd', 'x'.repeat(150)]);
  });

  it('keeps the username of the time when the user is renamed', async () => {
    await clear();
    const audit = recorder();
    const row: AuditRow = {
      at: clock.now(),
      kind: 'session_ended',
      actorId: null,
      impersonatorId: null,
      targetUserId: bob,
      targetGroupId: null,
      username: null,
      address: null,
      requestId: null,
      details: {},
    };
    audit.record(row);
    await audit.flushed();
    await run(fixture.em(), "UPDATE auth_user SET username = 'robert' WHERE id = ?", [bob]);
    audit.record(row);
    await audit.close(5000);
    expect((await rows()).map((stored) => stored.username)).toEqual(['bob', 'robert']);
    await run(fixture.em(), "UPDATE auth_user SET username = 'bob' WHERE id = ?", [bob]);
  });

  it('drops what passes its bound, and says how many', async () => {
    await clear();
    const { logger, lines } = capturedLogger();
    const audit = recorder({ logger, queueLimit: 2 });
    const bus = new AuthEventBus();
    audit.listen(bus, clock);
    // All at once, before the writer's first turn: two wait, three find the queue full.
    for (let n = 0; n < 5; n += 1)
      void bus.emit('userLockedOut', { username: `u${n}`, ip: '', action: 'login', retryAfterSeconds: 1 });
    expect(audit.pending).toBe(2);
    await audit.close(5000);
    expect((await rows()).map((row) => row.username)).toEqual(['u0', 'u1']);
    expect(lines.map((line) => line.msg)).toEqual([
      'the audit queue is full (the database is slow or down): new audit events are dropped',
      '3 audit event(s) were dropped',
    ]);
  });

  it('costs its emitter nothing when its writes fail: tried again, then lost and counted', async () => {
    await clear();
    // A real failure: the table gone (42P01) under the writer.
    await run(fixture.em(), 'ALTER TABLE gqlauth_audit_event RENAME TO gqlauth_audit_event_away');
    try {
      const { logger, lines } = capturedLogger();
      const audit = recorder({ logger, retryDelaysMs: [10, 10] });
      const bus = new AuthEventBus((error) => {
        throw error;
      });
      audit.listen(bus, clock);
      await bus.emit('userLockedOut', { username: 'alice', ip: '', action: 'login', retryAfterSeconds: 1 });
      // The emitter did not wait for any write: the first is tried a turn of the event loop later, and each failure
      // is logged once the database has answered. An order, not a time, so that a busy machine cannot fail it.
      expect(lines).toEqual([]);
      await audit.flushed();
      expect(lines.map((line) => line.msg)).toEqual([
        'writing the audit log failed; trying again',
        'writing the audit log failed; trying again',
        '1 audit event(s) could not be written and are lost',
      ]);
      // It goes on: the next event is written once the table is back, the queue never stuck.
      await run(fixture.em(), 'ALTER TABLE gqlauth_audit_event_away RENAME TO gqlauth_audit_event');
      await bus.emit('userLockedOut', { username: 'bob', ip: '', action: 'login', retryAfterSeconds: 1 });
      await audit.close(5000);
      expect((await rows()).map((row) => row.username)).toEqual(['bob']);
    } finally {
      await run(fixture.em(), 'ALTER TABLE IF EXISTS gqlauth_audit_event_away RENAME TO gqlauth_audit_event');
    }
  });

  it('writes what is queued when closed, and refuses what comes after', async () => {
    await clear();
    const { logger, lines } = capturedLogger();
    const audit = recorder({ logger });
    const bus = new AuthEventBus();
    audit.listen(bus, clock);
    for (let n = 0; n < 3; n += 1)
      await bus.emit('userLockedOut', { username: `u${n}`, ip: '', action: 'login', retryAfterSeconds: 1 });
    await audit.close(5000);
    expect(await rows()).toHaveLength(3);
    await bus.emit('userLockedOut', { username: 'late', ip: '', action: 'login', retryAfterSeconds: 1 });
    await audit.close(5000);
    expect(await rows()).toHaveLength(3);
    expect(lines.map((line) => line.msg)).toEqual([
      'audit event after shutdown: dropped',
      '1 audit event(s) were dropped',
    ]);
  });
});
