import type { RedisClient } from './connection';

/**
 * The platform keeps per-kernel data in Redis under `kernel.<kernel id>.stats` (resource usage)
 * and `kernel.<kernel id>.events` (the kernel's event stream); they die with the kernel's row.
 */
export function kernelRedisKeys(kernelId: string): string[] {
  return [`kernel.${kernelId}.stats`, `kernel.${kernelId}.events`];
}

/** UNLINK (non-blocking DEL) of each kernel's keys, pipelined; returns how many existed. */
export async function unlinkKernelKeys(redis: RedisClient, kernelIds: string[]): Promise<number> {
  const pipeline = redis.pipeline();
  for (const id of kernelIds) pipeline.unlink(...kernelRedisKeys(id));
  return sumReplies(await pipeline.exec());
}

/** How many of the kernels' keys exist (a dry run). */
export async function countKernelKeys(redis: RedisClient, kernelIds: string[]): Promise<number> {
  const pipeline = redis.pipeline();
  for (const id of kernelIds) pipeline.exists(...kernelRedisKeys(id));
  return sumReplies(await pipeline.exec());
}

/** Sums integer replies; a failed command in the pipeline is thrown. */
function sumReplies(replies: Array<[Error | null, unknown]> | null): number {
  const failed = replies?.find(([error]) => error !== null);
  if (failed?.[0]) throw failed[0];
  return (replies ?? []).reduce((sum, [, value]) => sum + Number(value), 0);
}
