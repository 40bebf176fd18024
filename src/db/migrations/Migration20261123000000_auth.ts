/**
 * Django's auth and contenttypes tables, as Django 3.2's own `migrate` creates them on PostgreSQL: same tables,
 * columns, types, constraint and index names. So this server can share a database with a Django application.
 *
 * Adoption: a table that already exists (a Django project's database) is left exactly as it is, its
 * constraints and indexes included. Only missing tables are created, each with its constraints and indexes.
 */
import { Migration } from '@mikro-orm/migrations';
import { createIfMissing } from '../adopt.js';

export class Migration20261123000000_auth extends Migration {
  override up(): void {
    // A Django project with a custom AUTH_USER_MODEL keeps its users in another table. Creating an empty auth_user
    // would make them seem to vanish: stop, and say why.
    // (Nested IFs: PL/pgSQL plans the inner query only once it knows that django_migrations exists.)
    this.addSql(`DO $adopt$ BEGIN
  IF to_regclass('public.django_migrations') IS NOT NULL AND to_regclass('public.auth_user') IS NULL THEN
    IF EXISTS (SELECT 1 FROM public.django_migrations WHERE app = 'auth') THEN
      RAISE EXCEPTION 'this Django database has no auth_user table: it uses a custom AUTH_USER_MODEL, which cannot be adopted yet';
    END IF;
  END IF;
END $adopt$;`);
    this.addSql(
      createIfMissing(
        'django_content_type',
        `
    CREATE TABLE public.django_content_type (
      id serial NOT NULL,
      app_label character varying(100) NOT NULL,
      model character varying(100) NOT NULL,
      CONSTRAINT django_content_type_pkey PRIMARY KEY (id),
      CONSTRAINT django_content_type_app_label_model_76bd3d3b_uniq UNIQUE (app_label, model)
    );`,
      ),
    );
    this.addSql(
      createIfMissing(
        'auth_permission',
        `
    CREATE TABLE public.auth_permission (
      id serial NOT NULL,
      name character varying(255) NOT NULL,
      content_type_id integer NOT NULL,
      codename character varying(100) NOT NULL,
      CONSTRAINT auth_permission_pkey PRIMARY KEY (id),
      CONSTRAINT auth_permission_content_type_id_codename_01ab375a_uniq UNIQUE (content_type_id, codename),
      CONSTRAINT auth_permission_content_type_id_2f476e4b_fk_django_co FOREIGN KEY (content_type_id)
        REFERENCES public.django_content_type(id) DEFERRABLE INITIALLY DEFERRED
    );
    CREATE INDEX auth_permission_content_type_id_2f476e4b ON public.auth_permission USING btree (content_type_id);`,
      ),
    );
    this.addSql(
      createIfMissing(
        'auth_group',
        `
    CREATE TABLE public.auth_group (
      id serial NOT NULL,
      name character varying(150) NOT NULL,
      CONSTRAINT auth_group_pkey PRIMARY KEY (id),
      CONSTRAINT auth_group_name_key UNIQUE (name)
    );
    CREATE INDEX auth_group_name_a6ea08ec_like ON public.auth_group USING btree (name varchar_pattern_ops);`,
      ),
    );
    this.addSql(
      createIfMissing(
        'auth_group_permissions',
        `
    CREATE TABLE public.auth_group_permissions (
      id serial NOT NULL,
      group_id integer NOT NULL,
      permission_id integer NOT NULL,
      CONSTRAINT auth_group_permissions_pkey PRIMARY KEY (id),
      CONSTRAINT auth_group_permissions_group_id_permission_id_0cd325b0_uniq UNIQUE (group_id, permission_id),
      CONSTRAINT auth_group_permissions_group_id_b120cbf9_fk_auth_group_id FOREIGN KEY (group_id)
        REFERENCES public.auth_group(id) DEFERRABLE INITIALLY DEFERRED,
      CONSTRAINT auth_group_permissio_permission_id_84c5c92e_fk_auth_perm FOREIGN KEY (permission_id)
        REFERENCES public.auth_permission(id) DEFERRABLE INITIALLY DEFERRED
    );
    CREATE INDEX auth_group_permissions_group_id_b120cbf9 ON public.auth_group_permissions USING btree (group_id);
    CREATE INDEX auth_group_permissions_permission_id_84c5c92e
      ON public.auth_group_permissions USING btree (permission_id);`,
      ),
    );
    this.addSql(
      createIfMissing(
        'auth_user',
        `
    CREATE TABLE public.auth_user (
      id serial NOT NULL,
      password character varying(128) NOT NULL,
      last_login timestamp with time zone,
      is_superuser boolean NOT NULL,
      username character varying(150) NOT NULL,
      first_name character varying(150) NOT NULL,
      last_name character varying(150) NOT NULL,
      email character varying(254) NOT NULL,
      is_staff boolean NOT NULL,
      is_active boolean NOT NULL,
      date_joined timestamp with time zone NOT NULL,
      CONSTRAINT auth_user_pkey PRIMARY KEY (id),
      CONSTRAINT auth_user_username_key UNIQUE (username)
    );
    CREATE INDEX auth_user_username_6821ab7c_like ON public.auth_user USING btree (username varchar_pattern_ops);`,
      ),
    );
    this.addSql(
      createIfMissing(
        'auth_user_groups',
        `
    CREATE TABLE public.auth_user_groups (
      id serial NOT NULL,
      user_id integer NOT NULL,
      group_id integer NOT NULL,
      CONSTRAINT auth_user_groups_pkey PRIMARY KEY (id),
      CONSTRAINT auth_user_groups_user_id_group_id_94350c0c_uniq UNIQUE (user_id, group_id),
      CONSTRAINT auth_user_groups_user_id_6a12ed8b_fk_auth_user_id FOREIGN KEY (user_id)
        REFERENCES public.auth_user(id) DEFERRABLE INITIALLY DEFERRED,
      CONSTRAINT auth_user_groups_group_id_97559544_fk_auth_group_id FOREIGN KEY (group_id)
        REFERENCES public.auth_group(id) DEFERRABLE INITIALLY DEFERRED
    );
    CREATE INDEX auth_user_groups_group_id_97559544 ON public.auth_user_groups USING btree (group_id);
    CREATE INDEX auth_user_groups_user_id_6a12ed8b ON public.auth_user_groups USING btree (user_id);`,
      ),
    );
    this.addSql(
      createIfMissing(
        'auth_user_user_permissions',
        `
    CREATE TABLE public.auth_user_user_permissions (
      id serial NOT NULL,
      user_id integer NOT NULL,
      permission_id integer NOT NULL,
      CONSTRAINT auth_user_user_permissions_pkey PRIMARY KEY (id),
      CONSTRAINT auth_user_user_permissions_user_id_permission_id_14a6b632_uniq UNIQUE (user_id, permission_id),
      CONSTRAINT auth_user_user_permissions_user_id_a95ead1b_fk_auth_user_id FOREIGN KEY (user_id)
        REFERENCES public.auth_user(id) DEFERRABLE INITIALLY DEFERRED,
      CONSTRAINT auth_user_user_permi_permission_id_1fbb5f2c_fk_auth_perm FOREIGN KEY (permission_id)
        REFERENCES public.auth_permission(id) DEFERRABLE INITIALLY DEFERRED
    );
    CREATE INDEX auth_user_user_permissions_permission_id_1fbb5f2c
      ON public.auth_user_user_permissions USING btree (permission_id);
    CREATE INDEX auth_user_user_permissions_user_id_a95ead1b
      ON public.auth_user_user_permissions USING btree (user_id);`,
      ),
    );
  }

  override down(): void {
    // Never drops Django's tables: they may hold a Django project's users. Remove them by hand if you must.
  }
}
