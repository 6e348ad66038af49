import type { MigrationInterface, QueryRunner } from 'typeorm';
import { migrationContext, type BaselineRunner } from '../src/postgres/migration-context';

/**
 * Container images move from etcd to PostgreSQL. The legacy etcd layout under the namespace:
 *   images/{registry}/{image}/{tag}                      config digest (segments percent-encoded)
 *   images/{registry}/{image}/{tag}/size_bytes           size
 *   images/{registry}/{image}/{tag}/architecture         default x86_64
 *   images/{registry}/{image}/{tag}/labels/{label}       label value
 *   images/{registry}/{image}/{tag}/resource/{slot}/min|max
 *   images/_aliases/{alias}                              canonical name, e.g. cr.backend.ai/stable/python:3.9
 * The import only reads etcd and upserts, so running it again (after a crash) converges.
 */
export class ImagesToPostgres1700000600000 implements MigrationInterface {
  name = 'ImagesToPostgres1700000600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE images (
        id            bigserial PRIMARY KEY,
        name          varchar(512) NOT NULL,
        image         varchar(512) NOT NULL,
        tag           varchar(128) NOT NULL,
        registry      varchar(256) NOT NULL,
        architecture  varchar(32)  NOT NULL DEFAULT 'x86_64',
        config_digest varchar(128),
        size_bytes    bigint       NOT NULL DEFAULT 0,
        type          varchar(16)  NOT NULL DEFAULT 'compute',
        labels        jsonb        NOT NULL DEFAULT '{}',
        resources     jsonb        NOT NULL DEFAULT '{}',
        CONSTRAINT uq_images_name_architecture UNIQUE (name, architecture)
      )`);
    await queryRunner.query(`
      CREATE TABLE image_aliases (
        alias    varchar(256) PRIMARY KEY,
        image_id bigint NOT NULL REFERENCES images (id) ON DELETE CASCADE
      )`);
    await importLegacyImages(queryRunner, this.name);
  }

  /** On a database created from the baseline snapshot the tables exist; the etcd import still has to happen. */
  async baselineData(queryRunner: BaselineRunner): Promise<void> {
    await importLegacyImages(queryRunner, this.name);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE image_aliases`);
    await queryRunner.query(`DROP TABLE images`);
  }
}

/** Upserts every legacy etcd image and alias; reading etcd and upserting makes a re-run converge. */
async function importLegacyImages(queryRunner: BaselineRunner, name: string): Promise<void> {
  const { etcd, log } = migrationContext(queryRunner);
  if (!etcd) {
    log.info({
      event: 'migration.info',
      name,
      message: 'etcd is not configured: created the image tables, imported nothing',
    });
    return;
  }
  const keys = await etcd.readPrefix('images');
  const images = legacyImages(keys);
  for (const image of images) {
    await queryRunner.query(
      `INSERT INTO images (name, image, tag, registry, architecture, config_digest, size_bytes, labels, resources)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (name, architecture) DO UPDATE SET config_digest = EXCLUDED.config_digest, size_bytes = EXCLUDED.size_bytes,
         labels = EXCLUDED.labels, resources = EXCLUDED.resources`,
      [
        image.name,
        image.image,
        image.tag,
        image.registry,
        image.architecture,
        image.digest,
        image.sizeBytes,
        JSON.stringify(image.labels),
        JSON.stringify(image.resources),
      ],
    );
  }
  let aliases = 0;
  for (const [key, target] of keys) {
    const alias = key.match(/^images\/_aliases\/([^/]+)$/)?.[1];
    if (alias === undefined) continue;
    const inserted = (await queryRunner.query(
      `INSERT INTO image_aliases (alias, image_id) SELECT $1, id FROM images WHERE name = $2 ORDER BY architecture = 'x86_64' DESC LIMIT 1
       ON CONFLICT (alias) DO UPDATE SET image_id = EXCLUDED.image_id RETURNING alias`,
      [decodeURIComponent(alias), target],
    )) as unknown[];
    aliases += inserted.length;
  }
  log.info({ event: 'migration.progress', name, images: images.length, aliases });
}

interface LegacyImage {
  name: string;
  registry: string;
  image: string;
  tag: string;
  architecture: string;
  digest: string | null;
  sizeBytes: number;
  labels: Record<string, string>;
  resources: Record<string, Record<string, string>>;
}

function legacyImages(keys: Map<string, string>): LegacyImage[] {
  const images = new Map<string, LegacyImage>();
  for (const [key, value] of keys) {
    const [, registry, image, tag, ...rest] = key.split('/').map((segment) => decodeURIComponent(segment));
    if (registry === undefined || registry === '_aliases' || image === undefined || tag === undefined) continue;
    const id = `${registry}/${image}:${tag}`;
    const entry = images.get(id) ?? {
      name: id,
      registry,
      image,
      tag,
      architecture: 'x86_64',
      digest: null,
      sizeBytes: 0,
      labels: {},
      resources: {},
    };
    images.set(id, entry);
    if (rest.length === 0) entry.digest = value;
    else if (rest[0] === 'size_bytes') entry.sizeBytes = Number(value) || 0;
    else if (rest[0] === 'architecture') entry.architecture = value;
    else if (rest[0] === 'labels' && rest[1]) entry.labels[rest[1]] = value;
    else if (rest[0] === 'resource' && rest[1] && rest[2])
      entry.resources[rest[1]] = { ...entry.resources[rest[1]], [rest[2]]: value };
  }
  return [...images.values()];
}
