import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `count` compiled migrations of realistic variety (tables, defaults, enums, checks, foreign
 * keys, indexes, views, column changes, renames, comments, data backfills) in CommonJS `.js`, with
 * every seventh one as ESM `.mjs` and every eleventh using a `name` property instead of the class
 * name, as other TypeORM projects ship them.
 */
export function generateMigrations(dir: string, count: number, firstTimestamp = 1_750_000_000_000): string[] {
  const names: string[] = [];
  for (let index = 0; index < count; index++) {
    const timestamp = firstTimestamp + index * 1000;
    const table = `t${Math.floor(index / 6)}`;
    const statements = migrationBody(index, table);
    const base = `Change${index}`;
    const useNameProperty = index % 11 === 10;
    const className = useNameProperty ? `Anonymous${index}` : `${base}${timestamp}`;
    const name = `${base}${timestamp}`;
    const up = statements.map((sql) => `    await queryRunner.query(${JSON.stringify(sql)});`).join('\n');
    const nameLine = useNameProperty ? `\n  name = ${JSON.stringify(name)};` : '';
    const body = `class ${className} {${nameLine}
  async up(queryRunner) {
${up}
  }
  async down() {}
}`;
    const isEsm = index % 7 === 6;
    const source = isEsm ? `export ${body}\n` : `${body}\nexports.${className} = ${className};\n`;
    fs.writeFileSync(path.join(dir, `${timestamp}-${base}.${isEsm ? 'mjs' : 'js'}`), source);
    names.push(name);
  }
  return names;
}

function migrationBody(index: number, table: string): string[] {
  const previous = `t${Math.floor(index / 6) - 1}`;
  switch (index % 6) {
    case 0:
      return [
        `CREATE TABLE ${table} (id bigserial PRIMARY KEY, name varchar(64) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
      ];
    case 1:
      return [
        `CREATE TYPE ${table}_state AS ENUM ('new', 'running', 'done')`,
        `ALTER TABLE ${table} ADD COLUMN state ${table}_state NOT NULL DEFAULT 'new', ADD COLUMN score numeric(10,2) CHECK (score >= 0)`,
      ];
    case 2:
      return [
        `CREATE INDEX ix_${table}_name ON ${table} (lower(name))`,
        `CREATE UNIQUE INDEX ux_${table}_name_state ON ${table} (name, state) WHERE state <> 'done'`,
      ];
    case 3:
      return index < 6
        ? [`ALTER TABLE ${table} ADD COLUMN parent_id bigint REFERENCES ${table} (id) ON DELETE SET NULL`]
        : [
            `ALTER TABLE ${table} ADD COLUMN ${previous}_id bigint REFERENCES ${previous} (id) ON DELETE CASCADE`,
            `CREATE INDEX ix_${table}_${previous} ON ${table} (${previous}_id)`,
          ];
    case 4:
      return [
        `INSERT INTO ${table} (name, score) SELECT 'row ' || g, g FROM generate_series(1, 20) g`,
        `ALTER TABLE ${table} ALTER COLUMN name TYPE text, ALTER COLUMN score SET DEFAULT 0`,
        `COMMENT ON TABLE ${table} IS 'generated table ${index}'`,
      ];
    default:
      return [
        `ALTER TABLE ${table} RENAME COLUMN created_at TO inserted_at`,
        `CREATE VIEW ${table}_open AS SELECT id, name, state FROM ${table} WHERE state <> 'done'`,
        `UPDATE ${table} SET state = 'done' WHERE id % 3 = 0`,
      ];
  }
}

/** A description of a schema from the catalogues, comparable between two databases. */
export async function schemaSnapshot(
  query: (sql: string) => Promise<Array<Record<string, unknown>>>,
): Promise<Record<string, unknown>> {
  const excluded = `('migrations', 'preflight_migrations')`;
  return {
    columns:
      await query(`SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, character_maximum_length, numeric_precision, numeric_scale
                            FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT IN ${excluded} ORDER BY 1, 2`),
    indexes: await query(
      `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT IN ${excluded} ORDER BY 1, 2`,
    ),
    constraints: (
      await query(`SELECT conrelid::regclass::text AS table, conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint
                     WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT IN ${excluded} ORDER BY 1, 2`)
    ).map((row) => ({ ...row, definition: castFree(String(row.definition)) })),
    views: await query(`SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1`),
    enums: await query(
      `SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text AS labels FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY 1 ORDER BY 1`,
    ),
    comments: await query(
      `SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND obj_description(c.oid, 'pg_class') IS NOT NULL ORDER BY 1`,
    ),
    tables: await query(
      `SELECT count(*)::int AS tables FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ${excluded}`,
    ),
  };
}

/**
 * A constraint definition without casts and grouping parentheses. PostgreSQL deparses
 * `varchar_col IN ('a', 'b')` as `ANY ((ARRAY['a'::varchar, ...])::text[])`, and the same constraint
 * restored from a dump as `ANY (ARRAY[('a'::varchar)::text, ...])`: one constraint, two spellings.
 */
function castFree(definition: string): string {
  return definition
    .replace(/::[a-z ]+(\[\])?/g, '')
    .replace(/[()]/g, '')
    .replace(/\s+/g, ' ');
}
