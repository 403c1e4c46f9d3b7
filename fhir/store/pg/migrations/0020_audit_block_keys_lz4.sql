-- An audit block's `keys` (a few hundred "e|Observation/<uuid>" for a block of reads, ~10 KB) is
-- compressed like `events`: with lz4 where the server has it. Migration 0016 set lz4 on `events`
-- only, so `keys` took the default pglz, which costs several times more CPU per block for text
-- this random (ids) and saves little on it; perf put it at ~0.7 us of PostgreSQL CPU per read
-- with authorisation on (docs/PERFORMANCE.md). Blocks already stored keep their compression
-- (PostgreSQL reads both); only new ones change.
DO $$
BEGIN
  ALTER TABLE audit_block ALTER COLUMN keys SET COMPRESSION lz4;
EXCEPTION WHEN others THEN
  NULL;
END $$;
