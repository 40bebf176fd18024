/**
 * Object-level permissions, on django-guardian's two tables (same names and columns): a permission granted on one
 * object, identified by its content type and primary key (as text), to a user or to a group. A Django project
 * that uses guardian keeps its grants; one that does not gets the tables. Existing tables are left as they are.
 */
import { Migration } from '@mikro-orm/migrations';
import { createIfMissing } from '../adopt.js';

export class Migration20261123020000_object_permissions extends Migration {
  override up(): void {
    this.addSql(
      createIfMissing(
        'guardian_userobjectpermission',
        `
    CREATE TABLE public.guardian_userobjectpermission (
      id serial PRIMARY KEY,
      object_pk character varying(255) NOT NULL,
      content_type_id integer NOT NULL REFERENCES public.django_content_type (id) DEFERRABLE INITIALLY DEFERRED,
      permission_id integer NOT NULL REFERENCES public.auth_permission (id) DEFERRABLE INITIALLY DEFERRED,
      user_id integer NOT NULL REFERENCES public.auth_user (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
      CONSTRAINT guardian_userobjectpermission_user_permission_object_uniq UNIQUE (user_id, permission_id, object_pk)
    );
    CREATE INDEX guardian_userobjectpermission_content_type_object ON public.guardian_userobjectpermission (content_type_id, object_pk);
    CREATE INDEX guardian_userobjectpermission_permission ON public.guardian_userobjectpermission (permission_id);`,
      ),
    );
    this.addSql(
      createIfMissing(
        'guardian_groupobjectpermission',
        `
    CREATE TABLE public.guardian_groupobjectpermission (
      id serial PRIMARY KEY,
      object_pk character varying(255) NOT NULL,
      content_type_id integer NOT NULL REFERENCES public.django_content_type (id) DEFERRABLE INITIALLY DEFERRED,
      group_id integer NOT NULL REFERENCES public.auth_group (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
      permission_id integer NOT NULL REFERENCES public.auth_permission (id) DEFERRABLE INITIALLY DEFERRED,
      CONSTRAINT guardian_groupobjectpermission_group_permission_object_uniq UNIQUE (group_id, permission_id, object_pk)
    );
    CREATE INDEX guardian_groupobjectpermission_content_type_object ON public.guardian_groupobjectpermission (content_type_id, object_pk);
    CREATE INDEX guardian_groupobjectpermission_permission ON public.guardian_groupobjectpermission (permission_id);`,
      ),
    );
  }

  override down(): void {
    this.addSql('DROP TABLE IF EXISTS public.guardian_groupobjectpermission');
    this.addSql('DROP TABLE IF EXISTS public.guardian_userobjectpermission');
  }
}
