/**
 * Creates the content types and permissions of the installed models that the database lacks, as Django's
 * post_migrate does: idempotent, never renames or deletes (a Django project's rows stay as they are).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { run, selectAll } from '../db/sql.js';
import { permissionsOf, type ModelDefinition } from './models.js';

/** Returns how many permissions were created. */
export async function syncContentTypes(em: EntityManager, models: readonly ModelDefinition[]): Promise<number> {
  let created = 0;
  for (const model of models) {
    await run(
      em,
      `INSERT INTO django_content_type (app_label, model) VALUES (?, ?) ON CONFLICT (app_label, model) DO NOTHING`,
      [model.appLabel, model.model],
    );
    for (const [codename, name] of permissionsOf(model)) {
      created += await run(
        em,
        `INSERT INTO auth_permission (name, content_type_id, codename)
         SELECT ?, id, ? FROM django_content_type WHERE app_label = ? AND model = ?
         ON CONFLICT (content_type_id, codename) DO NOTHING`,
        [name, codename, model.appLabel, model.model],
      );
    }
  }
  return created;
}

/** Every permission of the database, `app_label.codename`, with the model it belongs to (`app_label.model`). */
export async function permissionCatalogue(em: EntityManager): Promise<{ perm: string; model: string }[]> {
  return selectAll<{ perm: string; model: string }>(
    em,
    `SELECT ct.app_label || '.' || p.codename AS perm, ct.app_label || '.' || ct.model AS model
       FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id`,
  );
}
