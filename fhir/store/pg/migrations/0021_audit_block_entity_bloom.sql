-- An audit block's resources in a Bloom filter instead of the GIN index (fhir/audit/pg/
-- key_bloom.h, audit_block.h; docs/AUDIT.md).
--
-- Why: a block of reads lists one "e|..." key per resource read, a few hundred distinct ids,
-- and every one was an entry of the GIN index on `keys`. Inserting them cost PostgreSQL ~5 us
-- per event, several times the rest of the block's insert (docs/PERFORMANCE.md, security).
-- From now on `keys` holds a block's patients and users (few per block: the searches auditors
-- run most) and `entity_bloom` its resources: ~10 bits each, tested by the function below.
-- A search by resource walks the blocks of its time range (the B-tree indexes) and reads only
-- those whose filter may hold the resource.
--
-- Blocks stored before this migration keep their "e|" keys and have no filter (NULL): a search
-- tries both, `keys @> ARRAY['e|...'] OR audit_bloom_may_contain(entity_bloom, ...)`.

ALTER TABLE audit_block ADD COLUMN entity_bloom bytea;

-- Whether the key with hashes (h1, h2) may be in `bloom`: its kBloomHashes = 7 bits, each
-- (h1 + i * h2) mod the filter's size in bits, all set. Must agree with BloomMayContain in
-- key_bloom.cpp bit for bit (a test checks). A NULL filter holds nothing (the answer is NULL).
-- Not STRICT, so that the planner inlines it into the search's filter: a call through the SQL
-- function executor cost ~15 us per block walked, the inlined expression well under 1 us.
CREATE FUNCTION audit_bloom_may_contain(bloom bytea, h1 bigint, h2 bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT get_bit(bloom, (h1 % (length(bloom) * 8::bigint))::integer) = 1
     AND get_bit(bloom, ((h1 + h2) % (length(bloom) * 8::bigint))::integer) = 1
     AND get_bit(bloom, ((h1 + 2 * h2) % (length(bloom) * 8::bigint))::integer) = 1
     AND get_bit(bloom, ((h1 + 3 * h2) % (length(bloom) * 8::bigint))::integer) = 1
     AND get_bit(bloom, ((h1 + 4 * h2) % (length(bloom) * 8::bigint))::integer) = 1
     AND get_bit(bloom, ((h1 + 5 * h2) % (length(bloom) * 8::bigint))::integer) = 1
     AND get_bit(bloom, ((h1 + 6 * h2) % (length(bloom) * 8::bigint))::integer) = 1
$$;
